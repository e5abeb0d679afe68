"""A live threaded server on loopback and a cookie-keeping client over urllib, for tests over real HTTP."""

from __future__ import annotations

import contextlib
import http.cookiejar
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

from werkzeug.serving import make_server

from tests.factories import PASSWORD


@contextlib.contextmanager
def serve(app) -> Iterator[str]:
    """Serve the app on a free loopback port with a thread per request; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


class Browser:
    """One user's cookies over urllib: answers are (status, body) and redirects are not followed."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), self._NoRedirect
        )

    def get(self, path: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, fields: dict) -> tuple[int, str]:
        body = urllib.parse.urlencode(fields).encode()
        return self._open(urllib.request.Request(self.base + path, data=body, method="POST"))

    def _open(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as answer:
            return answer.code, answer.read().decode()

    def log_in(self, username: str) -> None:
        status, body = self.post("/login", {"username": username, "password": PASSWORD})
        assert status == 302, body[:500]


def all_at_once(actions: list) -> list:
    """Run the actions on threads released together; return their results in order."""
    start = threading.Barrier(len(actions))
    results: list = [None] * len(actions)

    def run(index: int) -> None:
        start.wait()
        results[index] = actions[index]()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results
