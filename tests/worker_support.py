"""Real Redis servers, real worker processes and throwaway databases they share with a test."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from redis import Redis

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
FIELD_ENCRYPTION_KEY = "5f1c0e4a9b7d3c2e8f6a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis_server(directory: Path, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """Start an empty redis-server (no persistence) on `port` or a free one; return it and its URL."""
    executable = shutil.which("redis-server") or pytest.skip("redis-server is not installed")
    port = port or free_port()
    process = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    connection = Redis(port=port)
    wait_for(lambda: _pings(connection), timeout=10, message="redis-server did not start")
    connection.close()
    return process, f"redis://127.0.0.1:{port}/0"


def _pings(connection: Redis) -> bool:
    try:
        return bool(connection.ping())
    except Exception:
        return False


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.05, message: str = ""):
    """Poll until the predicate is true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(message or f"condition not met within {timeout} s")
        time.sleep(interval)


def worker_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET_KEY,
        "FIELD_ENCRYPTION_KEY": FIELD_ENCRYPTION_KEY,
        **extra,
    }


def start_worker(env: dict, *queues: str, burst: bool = False, log: Path | None = None) -> subprocess.Popen:
    """Start `registry worker` in a session of its own, so it and its work horse can be killed together."""
    command = [sys.executable, "-m", "registry.cli", "worker", *queues]
    if burst:
        command.append("--burst")
    if log is None:
        return subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    with open(log, "ab") as output:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            command,
            env=env,
            cwd=PROJECT_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def run_burst_worker(env: dict, *queues: str, timeout: float = 180) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "registry.cli", "worker", "--burst", *queues],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def descendants(pid: int) -> list[int]:
    """Return the processes below `pid` (Linux /proc), children first."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            parents.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        children = parents.get(queue.pop(), [])
        found.extend(children)
        queue.extend(children)
    return found


def kill_hard(process: subprocess.Popen) -> None:
    """SIGKILL a worker with its work horse and scheduler, as if its machine died: nothing cleans up.

    RQ puts the work horse in a process group of its own, so the worker's group alone would miss it.
    """
    for pid in [process.pid, *descendants(process.pid)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(10)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


class ScratchDatabases:
    """Throwaway databases: SQLite files under the test's directory, or databases on the test PostgreSQL."""

    def __init__(self, postgres_url: str | None, directory: Path) -> None:
        self.postgres_url = postgres_url
        self.directory = directory
        self.created: list[str] = []

    def _admin(self):
        return sa.create_engine(self.postgres_url, isolation_level="AUTOCOMMIT")

    def new(self, name: str, template: str | None = None) -> str:
        """Return the URL of a new empty database, or of a copy of `template` (a URL from this object)."""
        if self.postgres_url is None:
            path = self.directory / f"{name}.db"
            if template is not None:
                source = Path(sa.make_url(template).database)
                _checkpoint(template)
                shutil.copyfile(source, path)
            return f"sqlite:///{path}"
        database = f"scratch_{name}"
        engine = self._admin()
        with engine.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            if template is None:
                connection.exec_driver_sql(f"CREATE DATABASE {database}")
            else:
                source = sa.make_url(template).database
                connection.exec_driver_sql(f"CREATE DATABASE {database} TEMPLATE {source}")
        engine.dispose()
        self.created.append(database)
        return sa.make_url(self.postgres_url).set(database=database).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if self.postgres_url is None or not self.created:
            return
        engine = self._admin()
        with engine.connect() as connection:
            for database in self.created:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        engine.dispose()


def _checkpoint(sqlite_url: str) -> None:
    """Fold SQLite's write-ahead log into the main file so that copying the file copies everything."""
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


class PrivatePostgres:
    """A PostgreSQL server of the test's own (initdb under tmp), so that a drill can stop and start it."""

    def __init__(self) -> None:
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
        if not candidates:
            pytest.skip("PostgreSQL is not installed")
        self.bin = candidates[-1]
        # Not under pytest's tmp_path: its parents are private to root, and the server runs as postgres.
        self.directory = Path(tempfile.mkdtemp(prefix="registry-drill-pg."))
        self.data = self.directory / "data"
        self.port = free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        if os.getuid() == 0:
            shutil.chown(self.directory, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "registry", "-E", "UTF8")
        self.start()
        self._run(
            "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "registry", "drill", as_owner=False
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://registry@127.0.0.1:{self.port}/drill"

    def _run(self, program: str, *args: str, as_owner: bool = True) -> None:
        prefix = self.as_postgres if as_owner else []
        subprocess.run([*prefix, str(self.bin / program), *args], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.directory / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-o", options, "start")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def stop(self) -> None:
        """Stop as a crash would: every connection is cut, nothing is shut down politely."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
