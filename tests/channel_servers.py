"""Local servers on real sockets for the reminder channels: an SMS gateway over HTTP and an SMTP server."""

from __future__ import annotations

import json
import socketserver
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SmsGateway:
    """An HTTP SMS gateway that records every message it is sent and answers with a chosen status."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.messages: list[dict] = []
        self.headers: list[dict] = []
        self._lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server hook name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with gateway._lock:
                    gateway.messages.append(json.loads(body))
                    gateway.headers.append(dict(self.headers))
                self.send_response(gateway.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/sms"

    def per_message_id(self) -> Counter:
        with self._lock:
            return Counter(message["message_id"] for message in self.messages)

    def __enter__(self) -> SmsGateway:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpServer:
    """Just enough SMTP (HELO/EHLO, MAIL, RCPT, DATA, QUIT) to receive messages and keep them."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self):
                self.reply("220 localhost test SMTP")
                sender, recipients = None, []
                while True:
                    line = self.rfile.readline().decode("utf-8", "replace").rstrip("\r\n")
                    command = line[:4].upper()
                    if command in ("HELO", "EHLO"):
                        self.reply("250 localhost")
                    elif command == "MAIL":
                        sender, recipients = line.split(":", 1)[1].strip(" <>"), []
                        self.reply("250 OK")
                    elif command == "RCPT":
                        recipients.append(line.split(":", 1)[1].strip(" <>"))
                        self.reply("250 OK")
                    elif command == "DATA":
                        self.reply("354 end with .")
                        data = []
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data.append(chunk)
                        server.messages.append({"from": sender, "to": recipients, "data": b"".join(data)})
                        self.reply("250 OK")
                    elif command == "QUIT" or not line:
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("250 OK")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def __enter__(self) -> SmtpServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
