"""Shared fixtures: one application per session on a migrated database, one rolled-back transaction per test.

TEST_DATABASE_URL selects PostgreSQL; without it the suite runs on a SQLite file.
"""

import datetime as dt
import itertools
import os

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from registry import create_app
from registry.auth.models import Role, User
from registry.auth.passwords import hash_password
from registry.extensions import db
from registry.institutions import Institution, InstitutionKind
from registry.people.models import IdDocumentType, Person, PersonKind, Sex
from registry.people.services import pinyin_of

PASSWORD = "Test-Password-2026"
NOW = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)
_sequence = itertools.count(1)


def database_url(tmp_path_factory) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def app_config(url: str, **overrides) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "REDIS_URL": None,
        **overrides,
    }


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    app = create_app(app_config(database_url(tmp_path_factory)))
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            # Let SQLAlchemy own BEGIN, so that each test's outer transaction holds every savepoint.
            @sa.event.listens_for(db.engine, "connect")
            def _autocommit_driver(dbapi_connection, _record):
                dbapi_connection.isolation_level = None

            @sa.event.listens_for(db.engine, "begin")
            def _begin(connection):
                connection.exec_driver_sql("BEGIN")

            db.engine.dispose()
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def db_session(app):
    """Run the test in one outer transaction that is rolled back; app code may commit (savepoints)."""
    with app.app_context():
        engines = db.engines
        saved = {}
        for key, engine in engines.items():
            connection = engine.connect()
            saved[key] = (engine, connection, connection.begin())
            engines[key] = connection
        db.session.remove()
        db.session.configure(join_transaction_mode="create_savepoint")
        yield db.session
        db.session.remove()
        for key, (engine, connection, transaction) in saved.items():
            transaction.rollback()
            connection.close()
            engines[key] = engine


@pytest.fixture
def client(app, db_session):
    return app.test_client()


@pytest.fixture
def district(db_session):
    """A city with one district holding a hospital, a community centre and the MCH centre."""
    n = next(_sequence)
    city = Institution(code=f"C{n}", name="杭州市", kind=InstitutionKind.CITY)
    district = Institution(code=f"D{n}", name="西湖区", kind=InstitutionKind.DISTRICT, parent=city)
    hospital = Institution(
        code=f"H{n}", name="第一人民医院", kind=InstitutionKind.BIRTHING_HOSPITAL, parent=district
    )
    community = Institution(
        code=f"S{n}",
        name="北山社区卫生服务中心",
        kind=InstitutionKind.COMMUNITY_HEALTH_CENTRE,
        parent=district,
    )
    mch = Institution(code=f"M{n}", name="区妇幼保健院", kind=InstitutionKind.MCH_CENTRE, parent=district)
    other_district = Institution(code=f"E{n}", name="上城区", kind=InstitutionKind.DISTRICT, parent=city)
    far_hospital = Institution(
        code=f"F{n}", name="上城区医院", kind=InstitutionKind.BIRTHING_HOSPITAL, parent=other_district
    )
    db_session.add_all([city, district, hospital, community, mch, other_district, far_hospital])
    db_session.flush()
    return {
        "city": city,
        "district": district,
        "hospital": hospital,
        "community": community,
        "mch": mch,
        "other_district": other_district,
        "far_hospital": far_hospital,
    }


_password_hash = None


@pytest.fixture
def make_user(db_session):
    def make(role: Role = Role.CLINIC_STAFF, institution: Institution | None = None, **overrides) -> User:
        global _password_hash
        _password_hash = _password_hash or hash_password(PASSWORD)
        n = next(_sequence)
        user = User(
            username=overrides.pop("username", f"user{n}"),
            full_name=overrides.pop("full_name", f"测试用户{n}"),
            role=role,
            institution_id=institution.id,
            password_hash=_password_hash,
            created_at=NOW,
            **overrides,
        )
        db_session.add(user)
        db_session.flush()
        return user

    return make


@pytest.fixture
def make_person(db_session):
    def make(institution: Institution, **overrides) -> Person:
        name = overrides.pop("name", "李梅")
        pinyin, initials = pinyin_of(name)
        values = dict(
            kind=PersonKind.WOMAN,
            name=name,
            name_pinyin=pinyin,
            name_initials=initials,
            sex=Sex.FEMALE,
            birth_on=dt.date(1990, 3, 7),
            id_type=IdDocumentType.NONE,
            institution_id=institution.id,
            created_at=NOW,
        )
        values.update(overrides)
        person = Person(**values)
        db_session.add(person)
        db_session.flush()
        return person

    return make


@pytest.fixture
def login(client):
    def do_login(user: User, password: str = PASSWORD):
        response = client.post("/login", data={"username": user.username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    return do_login


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real redis-server on a free loopback port for the whole session (tests flush it as they need)."""
    from tests.worker_support import start_redis_server

    process, url = start_redis_server(tmp_path_factory.mktemp("redis"))
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture
def scratch_database(tmp_path):
    """Make databases a worker process can share with the test: SQLite files, or PostgreSQL databases."""
    from tests.worker_support import ScratchDatabases

    databases = ScratchDatabases(os.environ.get("TEST_DATABASE_URL"), tmp_path)
    yield databases
    databases.drop_all()
