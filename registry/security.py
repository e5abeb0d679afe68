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
# The passwords that demo data and create-user examples use; production refuses an administrator holding one.
DEFAULT_PASSWORDS = ("Demo-Registry-2026",)


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
    """Refuse to run in production with a guessable key, debug on, SQLite, or a default admin password."""
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
    problems += _default_admin_passwords(app)
    if problems:
        raise UnsafeConfiguration("refusing to start in production: " + "; ".join(problems))


def _default_admin_passwords(app: Flask) -> list[str]:
    from registry.auth.models import Role, User
    from registry.auth.passwords import verify_password
    from registry.extensions import db

    with app.app_context():
        try:
            admins = db.session.scalars(
                sa.select(User).where(User.role == Role.SYSTEM_ADMIN, User.active)
            ).all()
        except sa.exc.DBAPIError:
            return []  # no schema yet: `db upgrade` comes first
        finally:
            db.session.rollback()
        return [
            f"administrator {admin.username} still has a default password"
            for admin in admins
            if any(verify_password(admin.password_hash, p) for p in DEFAULT_PASSWORDS)
        ]
