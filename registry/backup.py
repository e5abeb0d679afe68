"""`registry backup FILE` and `registry restore FILE`: a consistent copy of the whole database and its return.

SQLite copies through sqlite3's online backup API, which reads one consistent snapshot while the application
keeps writing. PostgreSQL goes through pg_dump's custom format and pg_restore in one transaction, so a failed
restore leaves the database as it was.
"""

import sqlite3
import subprocess
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from registry.extensions import db


def _libpq_url(url: sa.URL) -> str:
    """pg_dump and pg_restore take a libpq URI, which names no Python driver."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_copy(source: str, target: str) -> None:
    with sqlite3.connect(source) as source_db, sqlite3.connect(target) as target_db:
        source_db.backup(target_db)
    source_db.close()
    target_db.close()


def back_up(url: sa.URL, file: Path) -> None:
    if url.get_backend_name() == "sqlite":
        file.unlink(missing_ok=True)
        _sqlite_copy(url.database, str(file))
    else:
        subprocess.run(
            ["pg_dump", "--format=custom", "--no-owner", f"--file={file}", _libpq_url(url)], check=True
        )


def restore(url: sa.URL, file: Path) -> None:
    """Replace every table's rows with the backup's; callers stop the application's connections first."""
    db.engine.dispose()
    if url.get_backend_name() == "sqlite":
        _sqlite_copy(str(file), url.database)
    else:
        subprocess.run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={_libpq_url(url)}",
                str(file),
            ],
            check=True,
        )


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(file: Path) -> None:
    """Write a consistent copy of the whole database to FILE (safe while the registry runs)."""
    back_up(db.engine.url, file)
    click.echo(f"backup written to {file} ({file.stat().st_size} bytes)")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Confirm that the database's current contents are to be replaced.")
@with_appcontext
def restore_command(file: Path, yes: bool) -> None:
    """Replace the whole database with the backup in FILE (stop the web processes and workers first)."""
    if not yes:
        raise click.UsageError("restore replaces every row in the database; run again with --yes to confirm")
    try:
        restore(db.engine.url, file)
    except (sqlite3.DatabaseError, subprocess.CalledProcessError) as error:
        message = f"{file} could not be restored, the database is unchanged: {error}"
        raise click.ClickException(message) from None
    click.echo(f"database restored from {file}")
