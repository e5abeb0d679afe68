"""The migrations build the schema from empty, come back down, and agree with the models."""

import os

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from registry import create_app
from registry.extensions import db
from tests.conftest import app_config


@pytest.fixture
def scratch_database_url(tmp_path):
    main_url = os.environ.get("TEST_DATABASE_URL")
    if not main_url:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    admin = sa.create_engine(main_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql("DROP DATABASE IF EXISTS registry_migrations")
        connection.exec_driver_sql("CREATE DATABASE registry_migrations")
    yield sa.make_url(main_url).set(database="registry_migrations").render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.exec_driver_sql("DROP DATABASE IF EXISTS registry_migrations WITH (FORCE)")
    admin.dispose()


def _tables(engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_from_empty_to_head_and_back_down(scratch_database_url):
    app = create_app(app_config(scratch_database_url))
    with app.app_context():
        upgrade()
        assert {"institution", "user_account", "person", "audit_event", "login_session"} <= _tables(db.engine)
        downgrade(revision="base")
        assert _tables(db.engine) == set()
        upgrade()
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
        assert differences == []
        db.engine.dispose()
