"""Backup and restore drill: what was committed at backup time comes back, nothing lost and nothing twice."""

import os
import uuid

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from registry import create_app
from registry.extensions import db
from tests import factories
from tests.conftest import app_config


@pytest.fixture
def scratch_url(tmp_path):
    """A database of its own: the drill replaces every row, which the shared test database must not suffer."""
    shared = os.environ.get("TEST_DATABASE_URL")
    if not shared:
        yield f"sqlite:///{tmp_path / 'drill.db'}"
        return
    name = f"drill_{uuid.uuid4().hex[:12]}"
    server = sa.create_engine(shared, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield sa.make_url(shared).set(database=name).render_as_string(hide_password=False)
    with server.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    server.dispose()


@pytest.fixture
def drill_app(scratch_url):
    app = create_app(app_config(scratch_url))
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def every_row() -> dict[str, list[tuple]]:
    """Each table's rows in primary-key order, so that a lost or doubled row shows as a difference."""
    rows = {}
    for table in db.metadata.sorted_tables:
        order = list(table.primary_key.columns) or list(table.columns)
        rows[table.name] = [tuple(row) for row in db.session.execute(sa.select(table).order_by(*order))]
    rows["alembic_version"] = db.session.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    return rows


def register(count: int, name: str) -> None:
    places = factories.district()
    factories.clinic_user(places["hospital"])
    for _ in range(count):
        factories.person(places["hospital"], name=name)
    db.session.commit()


def test_a_restored_backup_holds_exactly_the_rows_committed_before_it(drill_app, tmp_path):
    cli = drill_app.test_cli_runner()
    register(5, "李梅")
    before = every_row()
    backup_file = tmp_path / "registry.backup"

    backed_up = cli.invoke(args=["backup", str(backup_file)])
    assert backed_up.exit_code == 0, backed_up.output
    assert backup_file.stat().st_size > 0

    register(3, "王芳")
    factories.person(factories.district()["hospital"], name="张丽")
    db.session.commit()
    assert every_row() != before
    db.session.remove()

    restored = cli.invoke(args=["restore", "--yes", str(backup_file)])
    assert restored.exit_code == 0, restored.output
    after = every_row()
    assert after == before
    assert len(after["person"]) == 5


def test_restore_asks_for_confirmation_before_replacing_the_database(drill_app, tmp_path):
    cli = drill_app.test_cli_runner()
    register(2, "李梅")
    backup_file = tmp_path / "registry.backup"
    cli.invoke(args=["backup", str(backup_file)])
    register(1, "王芳")
    before = every_row()
    db.session.remove()

    refused = cli.invoke(args=["restore", str(backup_file)])

    assert refused.exit_code != 0
    assert "--yes" in refused.output
    assert every_row() == before


def test_a_file_that_is_not_a_backup_is_refused_and_changes_nothing(drill_app, tmp_path):
    register(2, "李梅")
    before = every_row()
    db.session.remove()
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("this is not a database backup\n" * 100)

    refused = drill_app.test_cli_runner().invoke(args=["restore", "--yes", str(not_a_backup)])

    assert refused.exit_code == 1
    assert "could not be restored, the database is unchanged" in refused.output
    assert every_row() == before
