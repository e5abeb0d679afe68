"""The migrations build the schema from empty, come back down, and agree with the models."""

import datetime as dt
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


def _filler(column: dict) -> object:
    """A value for a required column the test does not care about."""
    kind = column["type"]
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return 1
    if isinstance(kind, sa.DateTime):
        return dt.datetime(2026, 3, 2, 1, tzinfo=dt.UTC)
    if isinstance(kind, sa.Date):
        return dt.date(2026, 3, 2)
    if isinstance(kind, sa.JSON):
        return "[]"
    return "X"


def _insert(connection, table: str, **given: object) -> None:
    """Insert a row naming only what the test cares about; other required columns get fillers."""
    row = dict(given)
    for column in sa.inspect(connection).get_columns(table):
        required = not column["nullable"] and column["default"] is None and not column.get("autoincrement")
        if column["name"] not in row and required and column["name"] != "id":
            row[column["name"]] = _filler(column)
    names = ", ".join(row)
    marks = ", ".join(f":{name}" for name in row)
    connection.execute(sa.text(f"INSERT INTO {table} ({names}) VALUES ({marks})"), row)


def test_subject_columns_become_one_traits_object_and_come_back(scratch_database_url):
    app = create_app(app_config(scratch_database_url))
    with app.app_context():
        upgrade(revision="0006_imports")
        with db.engine.begin() as connection:
            _insert(connection, "institution", id=1, code="H1")
            _insert(connection, "person", id=1, institution_id=1)
            common = {"person_id": 1, "opening_institution_id": 1, "responsible_institution_id": 1}
            _insert(
                connection,
                "follow_up_case",
                id=1,
                program="NEWBORN_HEARING",
                subject_nicu=True,
                subject_risk_factors='["ECMO", "MENINGITIS"]',
                reason="REFERRED_RESULT",
                **common,
            )
            _insert(
                connection,
                "follow_up_case",
                id=2,
                program="NEWBORN_HEARING",
                subject_nicu=False,
                subject_risk_factors="[]",
                reason="MISSED_SCREENING",
                **common,
            )
            _insert(connection, "follow_up_case", id=3, program="NEWBORN_CHD", subject_nicu=False,
                    subject_risk_factors="[]", reason="REFERRED_RESULT", **common)  # fmt: skip
        upgrade()
        traits = sa.table("follow_up_case", sa.column("id"), sa.column("subject_traits", sa.JSON))
        with db.engine.connect() as connection:
            stored = dict(connection.execute(sa.select(traits.c.id, traits.c.subject_traits)).all())
            columns = {c["name"] for c in sa.inspect(connection).get_columns("follow_up_case")}
        assert stored == {1: {"NICU_STAY": True, "RISK_FACTORS": ["ECMO", "MENINGITIS"]}, 2: {}, 3: {}}
        assert {"subject_nicu", "subject_risk_factors"}.isdisjoint(columns)

        downgrade(revision="0006_imports")
        old = sa.table(
            "follow_up_case",
            sa.column("id"),
            sa.column("subject_nicu", sa.Boolean),
            sa.column("subject_risk_factors", sa.JSON),
        )
        with db.engine.connect() as connection:
            rows = connection.execute(sa.select(old).order_by(old.c.id)).all()
        assert [tuple(r) for r in rows] == [
            (1, True, ["ECMO", "MENINGITIS"]),
            (2, False, []),
            (3, False, []),
        ]
        db.engine.dispose()


def test_stored_id_and_phone_numbers_are_encrypted_in_place_and_still_found(scratch_database_url):
    app = create_app(app_config(scratch_database_url))
    raw = sa.table(
        "person", sa.column("id"), sa.column("id_number"), sa.column("phone"), sa.column("phone_alt")
    )
    with app.app_context():
        upgrade(revision="0017_fact_period_indexes")
        with db.engine.begin() as connection:
            _insert(connection, "institution", id=1, code="H1", kind="BIRTHING_HOSPITAL")
            woman = {"institution_id": 1, "kind": "WOMAN", "sex": "F", "household": "LOCAL", "name": "李梅"}
            _insert(connection, "person", id=1, id_type="RESIDENT_ID", id_number="330106199001011236",
                    phone="13812345678", phone_alt=None, **woman)  # fmt: skip
            _insert(connection, "person", id=2, id_type="NONE", id_number=None, phone=None, **woman)
        upgrade()
        with db.engine.connect() as connection:
            stored = connection.execute(sa.select(raw).order_by(raw.c.id)).all()
        assert "330106199001011236" not in str(stored) and "13812345678" not in str(stored)
        assert stored[1][1:] == (None, None, None)

        from registry.people.models import Person
        from registry.people.services import search_people

        assert [p.id for p in search_people("330106199001011236", sa.true())] == [1]
        assert [p.id for p in search_people("13812345678", sa.true())] == [1]
        assert db.session.get(Person, 1).id_number == "330106199001011236"
        db.session.remove()

        downgrade(revision="0017_fact_period_indexes")
        with db.engine.connect() as connection:
            assert connection.execute(sa.select(raw.c.id_number, raw.c.phone).where(raw.c.id == 1)).one() == (
                "330106199001011236",
                "13812345678",
            )
        db.engine.dispose()
