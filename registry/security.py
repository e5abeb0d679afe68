"""Response headers, identifier scrubbing in logs, and the refusal to run production on unsafe defaults."""

import logging

import sqlalchemy as sa
from flask import Flask, g, request

from registry.config import INSECURE_SECRET_KEYS
from registry.people.idnumbers import scrub_identifiers

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# The passwords that demo data and create-user examples use; production refuses any active user holding one.
DEFAULT_PASSWORDS = ("Demo-Registry-2026",)
# sslmode values that make libpq refuse an unencrypted connection.
TLS_SSLMODES = {"require", "verify-ca", "verify-full"}


class UnsafeConfiguration(RuntimeError):
    pass


def add_security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.is_secure or request.headers.get("X-Forwarded-Proto") == "https":
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if g.get("user") is not None and request.endpoint != "static":
        # Pages with personal data must not stay in shared browser caches.
        response.headers["Cache-Control"] = "no-store"
    return response


class IdentifierScrubber(logging.Filter):
    """Mask identity and phone numbers in every log record before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = scrub_identifiers(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        # A traceback carries exception text and SQL parameters (an IntegrityError quotes the whole row):
        # format it here, scrubbed, so that no handler formats the raw one.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub_identifiers(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub_identifiers(record.stack_info)
        return True


def install_log_scrubber() -> None:
    scrubber = IdentifierScrubber()
    for handler in logging.getLogger().handlers:
        handler.addFilter(scrubber)
    for name in ("registry", "werkzeug", "gunicorn.access", "gunicorn.error", "rq.worker"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, IdentifierScrubber) for f in logger.filters):
            logger.addFilter(scrubber)


def check_production_config(app: Flask) -> None:
    """Refuse to run in production with a guessable key, debug on, SQLite, no TLS, or a default password."""
    if app.config.get("REGISTRY_ENV") != "production":
        return
    problems = []
    if app.config.get("SECRET_KEY") in INSECURE_SECRET_KEYS or len(app.config.get("SECRET_KEY", "")) < 32:
        problems.append("SECRET_KEY is a default or shorter than 32 characters")
    if app.debug or app.config.get("DEBUG"):
        problems.append("debug mode is on")
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        problems.append("DATABASE_URL is not set: production needs PostgreSQL")
    if not app.config.get("SESSION_COOKIE_SECURE"):
        problems.append("SESSION_COOKIE_SECURE is off")
    problems += _plaintext_database(app)
    problems += _default_passwords(app)
    if problems:
        raise UnsafeConfiguration("refusing to start in production: " + "; ".join(problems))


def _plaintext_database(app: Flask) -> list[str]:
    """PostgreSQL over the network must use TLS; a local socket or an explicit opt-out is allowed."""
    url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if not url.drivername.startswith("postgresql") or app.config.get("DATABASE_ALLOW_PLAINTEXT"):
        return []
    host = url.query.get("host") or url.host
    if not host or str(host).startswith("/"):
        return []  # a Unix socket never leaves the machine
    if url.query.get("sslmode") in TLS_SSLMODES:
        return []
    return [
        "DATABASE_URL connects to PostgreSQL without TLS: add ?sslmode=require (or verify-full), "
        "or set DATABASE_ALLOW_PLAINTEXT=1 for a database on a trusted local network"
    ]


def _default_passwords(app: Flask) -> list[str]:
    from registry.auth.models import User
    from registry.auth.passwords import verify_password
    from registry.extensions import db

    with app.app_context():
        try:
            users = db.session.scalars(sa.select(User).where(User.active).order_by(User.username)).all()
        except sa.exc.DBAPIError:
            return []  # no schema yet: `db upgrade` comes first
        finally:
            db.session.rollback()
        holders = [
            user.username
            for user in users
            if any(verify_password(user.password_hash, p) for p in DEFAULT_PASSWORDS)
        ]
    if not holders:
        return []
    return [f"active users still have a default password: {', '.join(holders)}"]
