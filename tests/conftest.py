"""Shared fixtures: one application per session on a migrated database, one rolled-back transaction per test.

TEST_DATABASE_URL selects PostgreSQL; without it the suite runs on a SQLite file.
"""

import os

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from registry import create_app
from registry.auth.models import User
from registry.extensions import db
from tests import factories
from tests.factories import NOW, PASSWORD  # noqa: F401 (imported from here by older tests)
from tests.fixtures import count_queries, frozen_clock  # noqa: F401 (fixtures for every test)
from tests.worker_support import FIELD_ENCRYPTION_KEY


def database_url(tmp_path_factory) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def app_config(url: str, **overrides) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "FIELD_ENCRYPTION_KEY": FIELD_ENCRYPTION_KEY,
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
    return factories.district()


@pytest.fixture
def make_user(db_session):
    return factories.user


@pytest.fixture
def make_person(db_session):
    return factories.person


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
def redis(redis_url):
    """A client of the session's redis-server, emptied for this test."""
    from redis import Redis

    connection = Redis.from_url(redis_url)
    connection.flushall()
    yield connection
    connection.close()


@pytest.fixture
def scratch_database(tmp_path):
    """Make databases a worker process can share with the test: SQLite files, or PostgreSQL databases."""
    from tests.worker_support import ScratchDatabases

    databases = ScratchDatabases(os.environ.get("TEST_DATABASE_URL"), tmp_path)
    yield databases
    databases.drop_all()
