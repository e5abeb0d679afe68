"""`registry run`, the command a newcomer types: a production server, nothing left behind on SIGTERM."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import psutil


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ours(instance, pids: set[int]) -> list[psutil.Process]:
    """What is still alive of the run: its process tree, and the embedded redis-server in instance/."""
    alive = []
    for process in psutil.process_iter(["pid", "name"]):
        try:
            if process.pid in pids or (
                "redis-server" in (process.info["name"] or "") and process.cwd() == str(instance)
            ):
                alive.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return alive


def test_registry_run_serves_through_gunicorn_and_stops_everything_on_sigterm(tmp_path):
    port = _free_port()
    instance = tmp_path / "instance"
    environment = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "REGISTRY_INSTANCE_PATH": str(instance),
    }
    run = subprocess.Popen(
        [sys.executable, "-m", "registry.cli", "run", "--no-demo", "--port", str(port), "--workers", "2"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as answer:
                    page, server = answer.read().decode(), answer.headers.get("Server", "")
                break
            except OSError:
                assert run.poll() is None, run.stdout.read()
                assert time.monotonic() < deadline, "registry run did not answer in 90 s"
                time.sleep(0.5)
        assert "gunicorn" in server.lower() and "用户名" in page
        tree = {run.pid, *(child.pid for child in psutil.Process(run.pid).children(recursive=True))}
        assert len(tree) >= 5  # the server, two web processes, the RQ worker and the scheduler
    finally:
        run.send_signal(signal.SIGTERM)
        output, _ = run.communicate(timeout=60)
    assert "Screening Registry is running" in output
    deadline = time.monotonic() + 20
    while _ours(instance, tree) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _ours(instance, tree) == []
