"""Measure product.md's performance targets on a generated city, each beside a floor from the same run.

    DATABASE_URL=postgresql+psycopg://registry@127.0.0.1:55432/bench_city .venv/bin/python -m bench.measure
    .venv/bin/python -m bench.measure --database-url sqlite:////tmp/bench-city.db --items worklist,sweep

Items (each runs in a process of its own, so its peak memory is its own):
  import    CSV import of lab results through the real import path; the same file again; floor: parse,
            validate IDs, bulk-load and upsert the same rows in one statement (rolled back)
  worklist  the overdue tab of one facility and of a district through the test client; floor: the bare
            SQL the page runs, replayed with the same parameters
  http      the same pages over HTTP from gunicorn with 2 workers
  sweep     the daily sweep for the day after the data's last state; the same day again; floor: one
            set-based UPDATE of 100,000 open cases (rolled back)
  killed    a sweep job whose worker is killed mid-run: seconds until another worker has finished it
  load      50 users on mixed pages with think time, then without; floor: a trivial endpoint under the
            same load
  statistics 统计分析 for the busiest district: a month, the statistical year, a drill-down page; floor: one
            grouped count over the fact table
  report    the monthly PDF report of the busiest district (snapshot + render); floor: WeasyPrint rendering a
            plain 15-page Chinese table document with the same fonts

An entry point that does not exist yet prints "not available yet: <what>", never a figure.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from bench.generate import BENCH_FIELD_KEY, FIELD_KEYS

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ITEMS = ("import", "worklist", "http", "sweep", "killed", "load", "statistics", "report")
SECRET_KEY = "bench-secret-key-that-is-long-enough-0123456789"
# Every application and worker this process starts reads the key the generator encrypted the city under.
os.environ.setdefault("FIELD_ENCRYPTION_KEY", BENCH_FIELD_KEY)

# product.md, "Non-functional targets", tightened by issue 18 where those first targets were already met
# (worklist over HTTP, the next day's sweep, a killed worker's job, 50 users with think time)
TARGETS = {
    "import_pg_s": 15.0,
    "import_sqlite_s": 30.0,
    "reimport_s": 5.0,
    "worklist_facility_p95_ms": 20.0,
    "worklist_district_p95_ms": 30.0,
    "sweep_s": 10.0,
    "killed_s": 60.0,
    "load_p95_ms": 50.0,
    "load_rps": 300.0,
    "load_no_think_p95_ms": 300.0,
    "statistics_month_p95_ms": 200.0,
    "statistics_year_s": 1.0,
    "statistics_drill_p95_ms": 300.0,
    "report_s": 8.0,
}


class NotAvailable(Exception):
    """An entry point another issue builds is missing: report it, do not invent a figure."""


# -- helpers ------------------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RssSampler:
    """Samples this process's RSS twice a second, to tell flat memory from memory that grows with rows."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(rss_mb())
            self._stop.wait(0.5)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def bench_app(database_url: str, **config):
    os.environ.setdefault("SECRET_KEY", SECRET_KEY)
    from registry import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": SECRET_KEY,
            "LOGIN_RATE_LIMIT": "100000 per minute",
            "WTF_CSRF_ENABLED": False,
            **config,
        }
    )


def as_of_of(db) -> dt.datetime:
    """The moment the data's state columns were computed for (the generator's --as-of, or a later sweep)."""
    value = db.session.execute(sa.text("SELECT MAX(state_as_of) FROM follow_up_case")).scalar()
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def busiest(db, kind: str) -> tuple[int, str]:
    """The facility of a kind with the most open cases, and its bench user."""
    row = db.session.execute(
        sa.text(
            "SELECT i.id, u.username FROM follow_up_case c "
            "JOIN institution i ON i.id = c.responsible_institution_id "
            "JOIN user_account u ON u.institution_id = i.id AND u.role = 'CLINIC_STAFF' "
            "WHERE c.status <> 'CLOSED' AND i.kind = :k AND u.username LIKE 'bench-%' "
            "GROUP BY i.id, u.username ORDER BY COUNT(*) DESC LIMIT 1"
        ),
        {"k": kind},
    ).first()
    if row is None:
        raise NotAvailable(f"a generated city (no open cases at a {kind}; run bench.generate first)")
    return row[0], row[1]


def district_coordinator(db) -> tuple[int, str]:
    row = db.session.execute(
        sa.text(
            "SELECT u.id, u.username FROM user_account u WHERE u.role = 'FOLLOW_UP_COORDINATOR' "
            "AND u.username LIKE 'bench-d%' ORDER BY u.username LIMIT 1"
        )
    ).first()
    if row is None:
        raise NotAvailable("a generated city (no bench coordinator)")
    return row


# -- import -------------------------------------------------------------------------------------------------

IMPORT_HEADERS = ["sample_id", "id_number", "name", "birth_on", "sampled_on", "hpv_result", "hpv_types"]


def measure_import(database_url: str, rows: int) -> dict:
    try:
        from screenings.imports import running, service
    except ImportError as missing:
        raise NotAvailable(f"the CSV import (screenings.imports: {missing})") from None
    from registry.auth.models import User
    from registry.extensions import db

    app = bench_app(database_url)
    out: dict = {"rows_requested": rows}
    with app.app_context():
        dialect = db.engine.dialect.name
        coordinator_id, _username = district_coordinator(db)
        user = db.session.get(User, coordinator_id)
        rows, path, workdir, upload = prepare_import(db, service, user, rows)
        out["rows"] = rows
        out["file_mb"] = round(path.stat().st_size / 2**20, 1)
        batch_id = upload("hpv.csv")
        before = rss_mb()
        profiler = None
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        with RssSampler() as sampler:
            started = time.perf_counter()
            batch = running.run_import(batch_id, lambda: dt.datetime.now(dt.UTC), workdir)
            seconds = time.perf_counter() - started
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(os.environ["BENCH_PROFILE"])
            out["profile"] = os.environ["BENCH_PROFILE"]
        out.update(
            seconds=round(seconds, 2),
            rows_per_s=round(rows / seconds),
            imported=batch.imported_count,
            rejected=batch.rejected_count,
            unmatched=batch.unmatched_count,
            cases_opened=batch.cases_opened_count,
            rss_before_mb=round(before, 1),
            rss_peak_mb=round(max(sampler.samples or [before]), 1),
            rss_at_quarters_mb=[
                round(sampler.samples[int(len(sampler.samples) * q)], 1) for q in (0.25, 0.5, 0.75)
            ]
            if len(sampler.samples) > 4
            else [],
        )
        second = upload("hpv-again.csv")
        started = time.perf_counter()
        again = running.run_import(second, lambda: dt.datetime.now(dt.UTC), workdir)
        out["reimport_seconds"] = round(time.perf_counter() - started, 2)
        out["reimport_imported"] = again.imported_count
        out["floor_seconds"] = round(import_floor(db, dialect, path, f"BENCH-FLOOR-{time.time_ns()}"), 2)
        out["target_s"] = TARGETS["import_pg_s" if dialect == "postgresql" else "import_sqlite_s"]
        out["dialect"] = dialect
    return out


def prepare_import(db, service, user, rows: int, storage: Path | None = None):
    """Write an HPV result file for women of the user's district; return (rows, path, folder, upload)."""
    from registry.audit import Actor

    district_id = db.session.execute(
        sa.text("SELECT parent_id FROM institution WHERE id = :i"), {"i": user.institution_id}
    ).scalar()
    women = db.session.execute(
        sa.text(
            "SELECT p.id_number, p.name, p.birth_on FROM person p "
            "JOIN institution i ON i.id = p.institution_id WHERE i.parent_id = :d AND p.kind = 'WOMAN' "
            "AND p.id_number IS NOT NULL ORDER BY p.id LIMIT :n"
        ),
        {"d": district_id, "n": rows},
    ).all()
    rows = len(women)
    rng = random.Random(7)
    as_of = as_of_of(db)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
    workdir = storage or Path(tempfile.mkdtemp(prefix="bench-import-"))
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"bench-{stamp}.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(IMPORT_HEADERS)
        for n, (stored_number, name, birth_on) in enumerate(women):
            id_number = FIELD_KEYS.decrypt(stored_number)
            day = (as_of - dt.timedelta(days=rng.uniform(1, 30))).date().isoformat()
            roll = rng.random()
            result, types = (
                ("POSITIVE", "HPV52")
                if roll < 0.08
                else ("POSITIVE", "HPV16")
                if roll < 0.1
                else ("NEGATIVE", "")
            )
            writer.writerow([f"B{stamp}-{n}", id_number, name, str(birth_on)[:10], day, result, types])
    actor = Actor(user_id=user.id, username=user.username)
    now = dt.datetime.now(dt.UTC)
    source = service.create_source("基准检验中心", f"BENCH-{stamp}", user.institution_id, actor, now)
    db.session.commit()

    def upload(name: str):
        with open(path, "rb") as stream:
            batch = service.receive_file(
                stream,
                name,
                source,
                "CERVICAL_CANCER",
                "HPV",
                user,
                actor,
                now,
                workdir,
                max_rows=max(rows, 1),
            )
        problems = service.confirm_mapping(batch, {h: h for h in IMPORT_HEADERS}, False, actor, now)
        if problems:
            raise RuntimeError(f"mapping refused: {problems}")
        db.session.commit()
        return batch.id

    return rows, path, workdir, upload


def import_floor(db, dialect: str, path: Path, source: str) -> float:
    """Parse the CSV, check every ID's digits, bulk-load and upsert the rows in one statement; roll back."""
    from registry.people.idnumbers import IdNumberError, parse_resident_id

    started = time.perf_counter()
    rows = []
    with open(path, encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        for sample, id_number, _name, _birth, day, result, types in reader:
            try:
                parse_resident_id(id_number)
            except IdNumberError:
                continue
            values = json.dumps(
                {"sampled_on": day, "hpv_result": result, "hpv_types": [types] if types else []}
            )
            # Numbers are stored encrypted: the floor, like the import, finds people by the blind index.
            index = FIELD_KEYS.document_index(id_number)
            rows.append((sample, index, day + " 04:00:00", values, "POS_OTHER_HR" if types else "NEG"))
    insert = (
        "INSERT INTO screening_result (program, test, person_id, institution_id, performed_at, "
        "measured_values, "
        "result_code, findings, rule_version, exposes_infant, source_system, source_key, entered_at) "
        "SELECT 'CERVICAL_CANCER', 'HPV', p.id, p.institution_id, {ts}, {js}, t.code, {empty}, 'floor', "
        "{false}, "
        ":source, t.sample, {now} FROM bench_floor t JOIN person p ON p.id_type = 'RESIDENT_ID' "
        "AND p.id_number_index = t.id_number"
    )
    connection = db.session.connection()
    raw = connection.connection.driver_connection
    if dialect == "postgresql":
        connection.execute(
            sa.text(
                "CREATE TEMP TABLE bench_floor (sample text, id_number text, day text, v text, code text)"
            )
        )
        with raw.cursor().copy("COPY bench_floor FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        sql = (
            insert.format(
                ts="t.day::timestamptz", js="t.v::json", empty="'[]'::json", false="false", now="now()"
            )
            + " ON CONFLICT ON CONSTRAINT uq_screening_result_source DO NOTHING"
        )
    else:
        connection.execute(
            sa.text(
                "CREATE TEMP TABLE bench_floor (sample text, id_number text, day text, v text, code text)"
            )
        )
        raw.executemany("INSERT INTO bench_floor VALUES (?, ?, ?, ?, ?)", rows)
        sql = insert.replace("INSERT INTO", "INSERT OR IGNORE INTO").format(
            ts="t.day", js="t.v", empty="'[]'", false="0", now="datetime('now')"
        )
    connection.execute(sa.text(sql), {"source": source})
    seconds = time.perf_counter() - started
    db.session.rollback()
    return seconds


# -- worklist -----------------------------------------------------------------------------------------------


def _login(client, username: str) -> None:
    from bench.generate import BENCH_PASSWORD

    response = client.post("/login", data={"username": username, "password": BENCH_PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"login of {username} failed: {response.status_code}")


def _timed(fn, count: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _summary(times: list[float]) -> dict:
    return {
        "n": len(times),
        "p50_ms": round(percentile(times, 50), 2),
        "p95_ms": round(percentile(times, 95), 2),
    }


def measure_worklist(database_url: str, requests: int) -> dict:
    from registry.extensions import db

    app = bench_app(database_url)
    if "screenings.worklist" not in app.view_functions:
        raise NotAvailable("the worklist page (endpoint screenings.worklist)")
    out = {}
    with app.app_context():
        facility_id, facility_user = busiest(db, "COMMUNITY_HEALTH_CENTRE")
        _coordinator_id, coordinator = district_coordinator(db)
        out["open_cases"] = db.session.execute(
            sa.text("SELECT COUNT(*) FROM follow_up_case WHERE status <> 'CLOSED'")
        ).scalar()
        out["facility_open_cases"] = db.session.execute(
            sa.text(
                "SELECT COUNT(*) FROM follow_up_case "
                "WHERE status <> 'CLOSED' AND responsible_institution_id = :i"
            ),
            {"i": facility_id},
        ).scalar()
        db.session.remove()
    for label, username in (("facility", facility_user), ("district", coordinator)):
        client = app.test_client()
        _login(client, username)

        def get(client=client):
            response = client.get("/cases/?tab=overdue")
            if response.status_code != 200:
                raise RuntimeError(f"worklist answered {response.status_code}")

        out[label] = _summary(_timed(get, requests))
        statements = capture_sql(app, client, "/cases/?tab=overdue")
        out[label]["floor"] = _summary(replay_sql(app, statements, requests))
        out[label]["statements_per_page"] = len(statements)
        out[label]["ratio"] = round(out[label]["p95_ms"] / max(out[label]["floor"]["p95_ms"], 0.01), 1)
    out["targets_ms"] = {
        "facility": TARGETS["worklist_facility_p95_ms"],
        "district": TARGETS["worklist_district_p95_ms"],
    }
    return out


def capture_sql(app, client, path: str) -> list[tuple[str, object]]:
    """The statements one page view sends to the database (login-session upkeep excluded)."""
    from registry.extensions import db

    captured: list[tuple[str, object]] = []
    with app.app_context():
        engine = db.engine

    def before(conn, cursor, statement, parameters, context, executemany):
        if "follow_up_case" in statement and statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        client.get(path)
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
    return captured


def replay_sql(app, statements, count: int) -> list[float]:
    """Run the captured statements on the driver connection: the page's database time and nothing else."""
    from registry.extensions import db

    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()

            def run():
                for statement, parameters in statements:
                    cursor.execute(statement, parameters)
                    if cursor.description is not None:  # a SET answers no rows
                        cursor.fetchall()

            return _timed(run, count)
        finally:
            raw.close()


# -- http ---------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(database_url: str, workers: int = 2):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}"]
    command += ["--log-level", "warning", "--backlog", "2048", "bench.wsgi:app"]
    with open(Path(tempfile.gettempdir()) / "bench-gunicorn.log", "ab") as log:  # the child keeps its copy
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _, _ = http_get("127.0.0.1", port, "/bench/ping")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("gunicorn did not start (see bench-gunicorn.log in the temp folder)")
            time.sleep(0.2)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def http_get(host: str, port: int, path: str, cookie: str = "") -> tuple[int, dict, bytes]:
    import http.client

    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def http_login(port: int, username: str) -> str:
    """Log in through the real form (CSRF token and all) and return the session cookie."""
    import http.client
    import re
    import urllib.parse

    from bench.generate import BENCH_PASSWORD

    status, headers, body = http_get("127.0.0.1", port, "/login")
    cookie = headers.get("Set-Cookie", "").split(";", 1)[0]
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body) or re.search(
        rb'value="([^"]+)"[^>]*name="csrf_token"', body
    )
    form = {"username": username, "password": BENCH_PASSWORD}
    if token:
        form["csrf_token"] = token.group(1).decode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(
        "POST",
        "/login",
        body=urllib.parse.urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    response = connection.getresponse()
    response.read()
    if response.status != 302:
        raise RuntimeError(f"HTTP login of {username} answered {response.status}")
    new_cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
    connection.close()
    return new_cookie or cookie


def measure_http(database_url: str, requests: int) -> dict:
    from registry.extensions import db

    app = bench_app(database_url)
    if "screenings.worklist" not in app.view_functions:
        raise NotAvailable("the worklist page (endpoint screenings.worklist)")
    with app.app_context():
        _facility, facility_user = busiest(db, "COMMUNITY_HEALTH_CENTRE")
        _coordinator_id, coordinator = district_coordinator(db)
        db.session.remove()
    out = {}
    with gunicorn(database_url) as port:
        for label, username in (("facility", facility_user), ("district", coordinator)):
            cookie = http_login(port, username)

            def get(cookie=cookie):
                status, _, _ = http_get("127.0.0.1", port, "/cases/?tab=overdue", cookie)
                if status != 200:
                    raise RuntimeError(f"worklist over HTTP answered {status}")

            out[label] = _summary(_timed(get, requests))
        out["ping"] = _summary(_timed(lambda: http_get("127.0.0.1", port, "/bench/ping"), requests))
    out["targets_ms"] = {
        "facility": TARGETS["worklist_facility_p95_ms"],
        "district": TARGETS["worklist_district_p95_ms"],
    }
    return out


# -- sweep --------------------------------------------------------------------------------------------------


def _sweep_day(db) -> dt.date:
    from screenings.engine import LOCAL_TZ

    return (as_of_of(db).astimezone(LOCAL_TZ) + dt.timedelta(days=1)).date()


def measure_sweep(database_url: str) -> dict:
    try:
        from screenings.sweep import DEFAULT_BATCH_SIZE, run_sweep
    except ImportError as missing:
        raise NotAvailable(f"the daily sweep (screenings.sweep.run_sweep: {missing})") from None
    from registry.extensions import db

    app = bench_app(database_url)
    out = {}
    with app.app_context():
        out["open_cases"] = db.session.execute(
            sa.text("SELECT COUNT(*) FROM follow_up_case WHERE status <> 'CLOSED'")
        ).scalar()
        out["results"] = db.session.execute(sa.text("SELECT COUNT(*) FROM screening_result")).scalar()
        day = _sweep_day(db)
        out["day"] = day.isoformat()
        out["batch_size"] = DEFAULT_BATCH_SIZE
        with RssSampler() as sampler:
            started = time.perf_counter()
            report = run_sweep(day, commit=db.session.commit)
            db.session.commit()
            out["seconds"] = round(time.perf_counter() - started, 2)
        out["report"] = report.as_dict() if hasattr(report, "as_dict") else str(report)
        out["rss_peak_mb"] = round(max(sampler.samples or [rss_mb()]), 1)
        started = time.perf_counter()
        again = run_sweep(day, commit=db.session.commit)
        db.session.commit()
        out["rerun_seconds"] = round(time.perf_counter() - started, 2)
        out["rerun_report"] = again.as_dict() if hasattr(again, "as_dict") else str(again)
        out["floor_seconds"] = round(sweep_floor(db), 2)
        out["ratio"] = round(out["seconds"] / max(out["floor_seconds"], 0.01), 1)
        out["target_s"] = TARGETS["sweep_s"]
    return out


def sweep_floor(db, rows: int = 100_000) -> float:
    """One set-based UPDATE of the first 100,000 open cases by due date, rolled back."""
    started = time.perf_counter()
    db.session.execute(
        sa.text(
            "UPDATE follow_up_case SET status = 'OVERDUE', state_as_of = state_as_of, version = version + 1 "
            "WHERE id IN (SELECT id FROM follow_up_case WHERE status <> 'CLOSED' "
            "ORDER BY due_at, id LIMIT :n)"
        ),
        {"n": rows},
    )
    seconds = time.perf_counter() - started
    db.session.rollback()
    return seconds


# -- a killed worker ----------------------------------------------------------------------------------------


def measure_killed(database_url: str, rows: int) -> dict:
    """An import job (the long kind) whose worker is SIGKILLed once it has committed a chunk."""
    try:
        from registry.job_records import JobRecord, JobStatus, start_job
        from screenings.imports import service
        from screenings.imports.tasks import import_file, storage_path
    except ImportError as missing:
        raise NotAvailable(f"job records and the import job ({missing})") from None
    import shutil

    from registry.audit import Actor
    from registry.auth.models import User
    from registry.extensions import db

    redis_server = shutil.which("redis-server") or str(Path(sys.executable).parent / "redis-server")
    if not Path(redis_server).exists():
        raise NotAvailable("a redis-server binary")
    workdir = Path(tempfile.mkdtemp(prefix="bench-redis-"))
    port = free_port()
    redis_command = [redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    redis = subprocess.Popen(
        [*redis_command, "--appendonly", "no", "--dir", str(workdir)], stdout=subprocess.DEVNULL
    )
    redis_url = f"redis://127.0.0.1:{port}/0"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET_KEY,
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    workers: dict[str, subprocess.Popen] = {}

    def worker(name: str) -> subprocess.Popen:
        command = [sys.executable, "-m", "registry.cli", "worker", "default"]
        with open(workdir / f"{name}.log", "ab") as log:  # the child keeps its copy
            process = subprocess.Popen(
                command, env=env, cwd=PROJECT_ROOT, stdout=log, stderr=log, start_new_session=True
            )
        workers[name] = process
        return process

    out: dict = {"worker_logs": str(workdir)}
    try:
        time.sleep(0.5)
        app = bench_app(database_url, REDIS_URL=redis_url)
        with app.app_context():
            coordinator_id, _ = district_coordinator(db)
            user = db.session.get(User, coordinator_id)
            rows, _path, _folder, upload = prepare_import(db, service, user, rows, storage_path())
            batch_id = upload("killed.csv")
            record = start_job(
                "import", import_file, batch_id, actor=Actor.system("bench"), now=dt.datetime.now(dt.UTC)
            )
            record_id = record.id
            db.session.remove()
        out["rows"] = rows

        def status():
            with app.app_context():
                found = db.session.get(JobRecord, record_id)
                value = (found.status, found.progress_done or 0)
                db.session.remove()
            return value

        first = worker("first")
        deadline = time.monotonic() + 600
        while status()[1] < 1:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the import job never reported progress (worker logs in {workdir})")
            time.sleep(0.2)
        worker("second")
        time.sleep(1)
        out["progress_when_killed"] = status()[1]
        kill_with_descendants(first.pid)
        first.wait()
        killed = time.monotonic()
        killed_at = dt.datetime.now(dt.UTC)
        if "Successfully completed" in (workdir / "first.log").read_text(errors="replace"):
            raise RuntimeError("the job finished before its worker was killed: give it more rows")
        while status()[0] is not JobStatus.SUCCEEDED:
            if time.monotonic() - killed > 900:
                raise RuntimeError("no other worker finished the job within 15 minutes")
            time.sleep(0.5)
        out["seconds_after_kill"] = round(time.monotonic() - killed, 1)
        with app.app_context():
            found = db.session.get(JobRecord, record_id)
            # started_at is the start of the run that finished: the kill to it is RQ noticing the dead worker.
            out["seconds_until_restarted"] = round((found.started_at - killed_at).total_seconds(), 1)
            out["attempts"] = found.attempts
            db.session.remove()
        second_log = (workdir / "second.log").read_text(errors="replace")
        out["finished_by_second_worker"] = "Successfully completed" in second_log
        out["target_s"] = TARGETS["killed_s"]
    finally:
        for process in workers.values():
            kill_with_descendants(process.pid)
            process.wait()
        redis.terminate()
        redis.wait()
    return out


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, read from /proc (RQ's work horse leaves its parent's session)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            with contextlib.suppress(OSError):
                children = [int(c) for c in (task / "children").read_text().split()]
                found += children
                todo += children
    return found


def kill_with_descendants(pid: int) -> None:
    """SIGKILL a worker with its work horse and scheduler, as if its machine died: nothing cleans up."""
    for target in [pid, *descendants(pid)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, signal.SIGKILL)


# -- load ---------------------------------------------------------------------------------------------------


def measure_load(database_url: str, users: int, think: tuple[float, float], seconds: float) -> dict:
    from bench.loadgen import Page, run_load
    from registry.extensions import db

    app = bench_app(database_url)
    if "screenings.worklist" not in app.view_functions:
        raise NotAvailable("the worklist page (endpoint screenings.worklist)")
    with app.app_context():
        accounts = db.session.execute(
            sa.text(
                "SELECT u.username, u.institution_id FROM user_account u WHERE u.username LIKE 'bench-%' "
                "AND u.role IN ('CLINIC_STAFF', 'FOLLOW_UP_COORDINATOR') ORDER BY u.id"
            )
        ).all()
        cases = {}
        people = {}
        for _username, institution_id in accounts:
            cases[institution_id] = [
                r[0]
                for r in db.session.execute(
                    sa.text(
                        # PMTCT cases ask clinic staff to break the glass first (a redirect), not a page view.
                        "SELECT id FROM follow_up_case WHERE responsible_institution_id = :i "
                        "AND status <> 'CLOSED' "
                        "AND program NOT LIKE 'PMTCT%' ORDER BY id LIMIT 40"
                    ),
                    {"i": institution_id},
                )
            ]
            people[institution_id] = [
                r[0]
                for r in db.session.execute(
                    sa.text("SELECT id FROM person WHERE institution_id = :i ORDER BY id LIMIT 40"),
                    {"i": institution_id},
                )
            ]
        db.session.remove()
    rng = random.Random(3)
    out: dict = {"users": users}
    with gunicorn(database_url) as port:
        sessions = []
        for n in range(users):
            username, institution_id = accounts[n % len(accounts)]
            cookie = http_login(port, username)
            pages = [
                Page("worklist", "/cases/?tab=overdue", 4),
                Page("due", "/cases/?tab=due_week", 2),
                Page("home", "/", 1),
            ]
            pages += [
                Page("case", f"/cases/{c}", 3)
                for c in rng.sample(cases[institution_id], min(5, len(cases[institution_id])))
            ]
            pages += [
                Page("person", f"/people/{p}", 2)
                for p in rng.sample(people[institution_id], min(5, len(people[institution_id])))
            ]
            pages.append(Page("search", "/people/?q=%E7%8E%8B", 1))
            sessions.append((cookie, pages))
        out["think"] = run_load(port, sessions, think=think, seconds=seconds)
        out["no_think"] = run_load(port, sessions, think=(0, 0), seconds=min(seconds, 20))
        out["floor_ping"] = run_load(
            port, [("", [Page("ping", "/bench/ping", 1)])] * users, think=(0, 0), seconds=min(seconds, 20)
        )
    out["targets"] = {
        "p95_ms": TARGETS["load_p95_ms"],
        "rps": TARGETS["load_rps"],
        "no_think_p95_ms": TARGETS["load_no_think_p95_ms"],
    }
    return out


# -- statistics (统计分析) ----------------------------------------------------------------------------------


def _statistics_subject(db) -> tuple[str, str, str]:
    """The district with the most fact rows, its bench manager, and the last whole month before the as-of."""
    row = db.session.execute(
        sa.text(
            "SELECT district, COUNT(*) FROM indicator_fact GROUP BY district ORDER BY COUNT(*) DESC LIMIT 1"
        )
    ).first()
    if row is None:
        raise NotAvailable("indicator facts (run `registry rebuild-facts` on the generated city)")
    district = row[0]
    manager = db.session.execute(
        sa.text(
            "SELECT u.username FROM user_account u JOIN institution i ON i.id = u.institution_id "
            "JOIN institution d ON d.id = i.parent_id WHERE u.role = 'PROGRAM_MANAGER' AND d.code = :d "
            "AND u.username LIKE 'bench-%' ORDER BY u.username LIMIT 1"
        ),
        {"d": district},
    ).scalar()
    if manager is None:
        raise NotAvailable(f"a bench program manager of district {district}")
    first = as_of_of(db).date().replace(day=1)
    last_month = (first - dt.timedelta(days=1)).strftime("%Y-%m")
    return district, manager, last_month


def _statistics_floor(db, district: str, start: dt.date, end: dt.date):
    """The bare aggregate: one grouped count per program and institution over the period's fact rows."""
    statement = sa.text(
        "SELECT program, institution, COUNT(*), SUM(CASE WHEN positive_day IS NOT NULL THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN closed_day IS NOT NULL THEN 1 ELSE 0 END) FROM indicator_fact "
        "WHERE district = :d AND screened_day BETWEEN :a AND :b GROUP BY program, institution"
    )
    values = {"d": district, "a": start.toordinal(), "b": end.toordinal()}
    return lambda: db.session.execute(statement, values).all()


def _fact_statements(app, client, path: str) -> list[tuple[str, object]]:
    """The statements over the fact table one page view sends (what the figures cost the database).

    With them the page's SET LOCAL settings (JIT off, work memory), so the replay plans them as the page did.
    """
    from registry.extensions import db

    captured: list[tuple[str, object]] = []
    with app.app_context():
        engine = db.engine

    def before(conn, cursor, statement, parameters, context, executemany):
        head = statement.lstrip().upper()
        if head.startswith("SET LOCAL") or (
            "indicator_fact" in statement and head.startswith(("SELECT", "WITH"))
        ):
            captured.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        client.get(path)
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
    return captured


def measure_statistics(database_url: str, requests: int) -> dict:
    """Time 统计分析 for one district: a month (every program), the statistical year, a drill-down page."""
    from registry.extensions import db

    app = bench_app(database_url)
    if "indicators.records" not in app.view_functions:
        raise NotAvailable("the drill-down (endpoint indicators.records)")
    from screenings.indicators.periods import parse_period

    out: dict = {}
    with app.app_context():
        count = db.session.execute(sa.text("SELECT COUNT(*) FROM indicator_fact")).scalar()
        if not count:
            from screenings.indicators.facts import rebuild

            started = time.perf_counter()
            rebuild()
            db.session.commit()
            out["facts_build_s"] = round(time.perf_counter() - started, 1)
            count = db.session.execute(sa.text("SELECT COUNT(*) FROM indicator_fact")).scalar()
        out["fact_rows"] = count
        district, manager, month = _statistics_subject(db)
        out["district"], out["period"] = district, month
        period = parse_period(month)
        out["district_month_rows"] = db.session.execute(
            sa.text(
                "SELECT COUNT(*) FROM indicator_fact WHERE district = :d AND screened_day BETWEEN :a AND :b"
            ),
            {"d": district, "a": period.start.toordinal(), "b": period.end.toordinal()},
        ).scalar()
        floor = _statistics_floor(db, district, period.start, period.end)
        out["floor_month"] = _summary(_timed(floor, requests))
        db.session.remove()
    client = app.test_client()
    _login(client, manager)
    year = "SY" + str(int(month[:4]) + (1 if int(month[5:]) >= 10 else 0))
    drill = (f"/statistics/records?period={month}&program=NEWBORN_HEARING&indicator=INITIAL_SCREEN_RATE"
             "&part=den")  # fmt: skip
    pages = {"month": f"/statistics?period={month}", "year": f"/statistics?period={year}", "drill": drill}
    counts = {"month": requests, "year": max(5, requests // 10), "drill": requests}
    for label, path in pages.items():

        def get(path=path):
            response = client.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}")

        out[label] = _summary(_timed(get, counts[label], warmup=2))
        out[label]["path"] = path
    out["ratio_month"] = round(out["month"]["p95_ms"] / max(out["floor_month"]["p95_ms"], 0.01), 1)
    statements = _fact_statements(app, client, pages["month"])
    out["month"]["fact_statements"] = len(statements)
    out["month"]["their_sql"] = _summary(replay_sql(app, statements, max(5, requests // 10)))
    out["targets"] = {
        "month_p95_ms": TARGETS["statistics_month_p95_ms"],
        "year_s": TARGETS["statistics_year_s"],
        "drill_p95_ms": TARGETS["statistics_drill_p95_ms"],
    }
    return out


# -- the monthly report (月报, issue 11) --------------------------------------------------------------------

FLOOR_PAGES = 15


def _floor_html(rows: int) -> str:
    """A plain Chinese table document: the report's page setup and fonts, no charts, no computed figures."""
    cells = "".join(
        f"<tr><td>第{i + 1}行 社区卫生服务中心</td><td>新生儿听力筛查</td><td class=n>{i * 7 % 1000}</td>"
        f"<td class=n>{i * 13 % 1000}</td><td class=n>{(i * 37) % 100}.{i % 10}%</td><td>达标</td></tr>"
        for i in range(rows)
    )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="dcterms.created" content="2026-12-01T00:00:00+00:00">'
        "<style>@page { size: A4; margin: 18mm 14mm 20mm 14mm; "
        '@bottom-right { content: "第 " counter(page) " 页 / 共 " counter(pages) " 页"; font-size: 8pt; } } '
        'html { font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; font-size: 9pt; } '
        "table { border-collapse: collapse; width: 100%; table-layout: fixed; } "
        "th, td { border: 0.5pt solid #999; padding: 1mm 1.5mm; } td.n { text-align: right; } "
        "thead { display: table-header-group; } tr { break-inside: avoid; }</style></head><body>"
        "<h2>底线文档：纯中文表格</h2><table><thead><tr><th>机构</th><th>项目</th><th>分子</th><th>分母</th>"
        f"<th>率</th><th>达标</th></tr></thead><tbody>{cells}</tbody></table></body></html>"
    )


def report_floor(runs: int) -> dict:
    """WeasyPrint rendering a plain 15-page Chinese table document (row count calibrated to 15 pages)."""
    from registry.pdf import render_pdf_document

    rows = 700
    for _attempt in range(4):
        _pdf, pages = render_pdf_document(_floor_html(rows), identifier=b"bench-floor")
        if pages == FLOOR_PAGES:
            break
        rows = max(1, round(rows * (FLOOR_PAGES - 0.5) / pages))
    times = []
    for _run in range(runs):
        started = time.perf_counter()
        _pdf, pages = render_pdf_document(_floor_html(rows), identifier=b"bench-floor")
        times.append(time.perf_counter() - started)
    return {"rows": rows, "pages": pages, "seconds": round(sorted(times)[len(times) // 2], 2),
            "all_s": [round(t, 2) for t in times]}  # fmt: skip


def measure_report(database_url: str, runs: int) -> dict:
    """Time the busiest district's monthly report: its snapshot and its PDF, beside the WeasyPrint floor."""
    import hashlib

    from registry.extensions import db

    app = bench_app(database_url, REPORTS_DIR=tempfile.mkdtemp(prefix="bench-report-"))
    try:
        from screenings.reports.render import CURRENT_LAYOUT, render_report
        from screenings.reports.service import find_district
        from screenings.reports.snapshot import take_snapshot
    except ImportError as missing:
        raise NotAvailable(f"the monthly report ({missing})") from missing
    out: dict = {}
    with app.app_context():
        if not db.session.execute(sa.text("SELECT COUNT(*) FROM indicator_fact")).scalar():
            from screenings.indicators.facts import rebuild

            started = time.perf_counter()
            rebuild()
            db.session.commit()
            out["facts_build_s"] = round(time.perf_counter() - started, 1)
        code, _manager, month = _statistics_subject(db)
        district = find_district(code)
        cut_off = as_of_of(db)
        out.update(district=code, month=month, cut_off=cut_off.isoformat())
        snapshots, renders, digests = [], [], set()
        for _run in range(runs):
            started = time.perf_counter()
            # In the current layout, as the worker records it (a snapshot naming none renders in layout 1).
            snapshot = {**take_snapshot(district, month, cut_off), "layout": CURRENT_LAYOUT}
            taken = time.perf_counter()
            pdf, pages = render_report(snapshot, "zh")
            snapshots.append(taken - started)
            renders.append(time.perf_counter() - taken)
            digests.add(hashlib.sha256(pdf).hexdigest())
        db.session.rollback()  # nothing of the run is kept
        totals = sorted(a + b for a, b in zip(snapshots, renders, strict=True))
        out.update(
            institutions=len(snapshot["institutions"]), pages=pages, bytes=len(pdf), layout=CURRENT_LAYOUT,
            identical=len(digests) == 1, runs=runs,
            snapshot_s=[round(t, 2) for t in snapshots], render_s=[round(t, 2) for t in renders],
            total_s=round(totals[len(totals) // 2], 2), total_max_s=round(totals[-1], 2),
        )  # fmt: skip
        out["floor"] = report_floor(runs)
    out["ratio"] = round(out["total_s"] / max(out["floor"]["seconds"], 0.01), 1)
    out["target_s"] = TARGETS["report_s"]
    return out


# -- orchestration ------------------------------------------------------------------------------------------


def run_item(name: str, args) -> dict:
    url = args.database_url
    if name == "import":
        return measure_import(url, args.import_rows)
    if name == "worklist":
        return measure_worklist(url, args.requests)
    if name == "http":
        return measure_http(url, args.requests)
    if name == "sweep":
        return measure_sweep(url)
    if name == "killed":
        return measure_killed(url, args.killed_rows)
    if name == "load":
        return measure_load(url, args.users, (args.think_min, args.think_max), args.load_seconds)
    if name == "statistics":
        return measure_statistics(url, args.requests)
    if name == "report":
        return measure_report(url, args.report_runs)
    raise ValueError(name)


def _child(args) -> int:
    try:
        result = run_item(args.child, args)
        result["process_peak_rss_mb"] = round(peak_rss_mb(), 1)
        payload = {"ok": True, "result": result}
    except NotAvailable as missing:
        payload = {"ok": False, "missing": str(missing)}
    print("\n@@BENCH@@" + json.dumps(payload, default=str))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--items", default=",".join(ITEMS), help=f"comma-separated, from {', '.join(ITEMS)}")
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--killed-rows", type=int, default=20_000, help="rows of the killed import job")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--think-min", type=float, default=5.0)
    parser.add_argument("--think-max", type=float, default=10.0)
    parser.add_argument("--load-seconds", type=float, default=90.0)
    parser.add_argument("--report-runs", type=int, default=3, help="monthly reports built (median reported)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url or set DATABASE_URL")
    if args.child:
        return _child(args)
    results = {}
    for name in [i.strip() for i in args.items.split(",") if i.strip()]:
        if name not in ITEMS:
            parser.error(f"unknown item {name}")
        passed = sys.argv[1:] if argv is None else argv
        command = [sys.executable, "-m", "bench.measure", *passed, "--child", name]
        print(f"== {name} ...", flush=True)
        started = time.perf_counter()
        done = subprocess.run(
            command,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        )
        marker = done.stdout.rfind("@@BENCH@@")
        if marker < 0:
            print(f"   failed after {time.perf_counter() - started:.0f} s:\n{done.stderr[-3000:]}")
            results[name] = {"ok": False, "error": done.stderr[-3000:]}
            continue
        payload = json.loads(done.stdout[marker + len("@@BENCH@@") :])
        results[name] = payload
        if not payload["ok"]:
            print(f"   not available yet: {payload['missing']}")
        else:
            print(format_item(name, payload["result"]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return 0


def _ratio(value: float, floor: float) -> str:
    return f"{value / floor:.1f}×" if floor else "-"


def format_item(name: str, r: dict) -> str:
    if name == "import":
        return "\n".join(
            [
                f"   {r['rows']:,} rows in {r['seconds']} s = {r['rows_per_s']:,} rows/s "
                f"(target: 100,000 in ≤ {r['target_s']} s); floor {r['floor_seconds']} s, "
                f"ratio {_ratio(r['seconds'], r['floor_seconds'])}",
                f"   imported {r['imported']:,}, rejected {r['rejected']}, unmatched {r['unmatched']}, "
                f"cases opened {r['cases_opened']}; RSS {r['rss_before_mb']} → peak {r['rss_peak_mb']} MB "
                f"(quarters {r['rss_at_quarters_mb']})",
                f"   same file again: {r['reimport_seconds']} s, {r['reimport_imported']} imported "
                "(target: 100,000 in ≤ 5 s)",
            ]
        )
    if name == "worklist":
        lines = [f"   open cases {r['open_cases']:,}; busiest facility {r['facility_open_cases']:,}"]
        for label in ("facility", "district"):
            x = r[label]
            lines.append(
                f"   {label}: p50 {x['p50_ms']} ms, p95 {x['p95_ms']} ms over {x['n']} (test client); "
                f"floor (its {x['statements_per_page']} SQL statements) p50 {x['floor']['p50_ms']} ms, "
                f"p95 {x['floor']['p95_ms']} ms; ratio {x['ratio']}×; "
                f"target p95 ≤ {r['targets_ms'][label]} ms (HTTP)"
            )
        return "\n".join(lines)
    if name == "http":
        lines = []
        for label in ("facility", "district", "ping"):
            x = r[label]
            target = f"; target p95 ≤ {r['targets_ms'][label]} ms" if label in r["targets_ms"] else ""
            lines.append(
                f"   {label}: p50 {x['p50_ms']} ms, p95 {x['p95_ms']} ms over {x['n']} "
                f"(gunicorn -w 2){target}"
            )
        return "\n".join(lines)
    if name == "sweep":
        return "\n".join(
            [
                f"   day {r['day']}: {r['seconds']} s over {r['open_cases']:,} open cases among "
                f"{r['results']:,} results (target ≤ {r['target_s']} s); floor {r['floor_seconds']} s, "
                f"ratio {r['ratio']}×",
                f"   changes {r['report']}",
                f"   same day again: {r['rerun_seconds']} s, {r['rerun_report']}",
            ]
        )
    if name == "killed":
        return (
            f"   import job of {r['rows']} rows: finished {r['seconds_after_kill']} s after its worker was "
            f"killed (by the other worker: {r['finished_by_second_worker']}, restarted after "
            f"{r.get('seconds_until_restarted')} s, attempts {r.get('attempts')}; "
            f"target ≤ {r['target_s']} s); "
            f"killed at progress {r['progress_when_killed']}"
        )
    if name == "load":
        t, n, f = r["think"], r["no_think"], r["floor_ping"]
        return "\n".join(
            [
                f"   {r['users']} users with think time: {t['requests']} requests, p50 {t['p50_ms']} ms, "
                f"p95 {t['p95_ms']} ms, errors {t['errors']} {t['error_kinds']} "
                f"(target p95 ≤ {r['targets']['p95_ms']} ms, no errors); p95 by page {t['by_page']}",
                f"   without think time: {n['rps']} req/s, p95 {n['p95_ms']} ms, errors {n['errors']} "
                f"{n['error_kinds']} (target ≥ {r['targets']['rps']} req/s, "
                f"p95 ≤ {r['targets']['no_think_p95_ms']} ms); "
                f"floor /bench/ping: {f['rps']} req/s, "
                f"p95 {f['p95_ms']} ms; ratio {_ratio(f['rps'], n['rps'])}",
            ]
        )
    if name == "statistics":
        t = r["targets"]
        built = f" (built from scratch in {r['facts_build_s']} s)" if "facts_build_s" in r else ""
        return "\n".join(
            [
                f"   {r['fact_rows']:,} fact rows{built}; district {r['district']}, {r['period']}: "
                f"{r['district_month_rows']:,} rows",
                f"   month, every program: p50 {r['month']['p50_ms']} ms, p95 {r['month']['p95_ms']} ms over "
                f"{r['month']['n']} (test client; target p95 ≤ {t['month_p95_ms']} ms); "
                f"floor (one grouped count) p95 {r['floor_month']['p95_ms']} ms; ratio {r['ratio_month']}×; "
                f"its {r['month']['fact_statements']} statements over the facts replayed: "
                f"p50 {r['month']['their_sql']['p50_ms']} ms",
                f"   statistical year: p50 {r['year']['p50_ms']} ms, p95 {r['year']['p95_ms']} ms over "
                f"{r['year']['n']} (target ≤ {t['year_s']} s)",
                f"   drill-down page (hearing, screened, district): p50 {r['drill']['p50_ms']} ms, "
                f"p95 {r['drill']['p95_ms']} ms over {r['drill']['n']} (target p95 ≤ {t['drill_p95_ms']} ms)",
            ]
        )
    if name == "report":
        f = r["floor"]
        built = f"facts built from scratch in {r['facts_build_s']} s; " if "facts_build_s" in r else ""
        return "\n".join(
            [
                f"   {built}district {r['district']}, {r['month']}: {r['institutions']} institutions, "
                f"{r['pages']} pages, {r['bytes']:,} bytes, identical across runs: {r['identical']}",
                f"   snapshot + render: median {r['total_s']} s, max {r['total_max_s']} s over {r['runs']} "
                f"(snapshot {r['snapshot_s']} s, render {r['render_s']} s; target ≤ {r['target_s']} s, "
                "10-20 pages)",
                f"   floor (WeasyPrint, plain {f['pages']}-page Chinese table, {f['rows']} rows): "
                f"{f['seconds']} s; ratio {r['ratio']}×",
            ]
        )
    return json.dumps(r)


if __name__ == "__main__":
    sys.exit(main())
