"""Screening Registry: the application kernel and the registry of who and where."""

import contextlib
import logging
import os
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app, g, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from registry import config as config_module
from registry.extensions import babel, csrf, db, limiter, migrate

PACKAGE_DIR = Path(__file__).resolve().parent
# In a source checkout (editable install included) templates/, static/ and migrations/ sit beside the
# packages; a built wheel carries them inside the package as registry/bundled/ (see setup.py).
RUNS_FROM_SOURCE = (PACKAGE_DIR.parent / "templates").is_dir()
PROJECT_ROOT = PACKAGE_DIR.parent if RUNS_FROM_SOURCE else PACKAGE_DIR / "bundled"


def create_app(config: dict | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, CLI."""
    app = Flask(
        __name__,
        # Installed from a wheel, the instance folder is Flask's own choice (<prefix>/var/registry-instance).
        instance_path=os.environ.get("REGISTRY_INSTANCE_PATH")
        or (str(PROJECT_ROOT / "instance") if RUNS_FROM_SOURCE else None),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(config_module.DEFAULTS)
    app.config.update(config_module.from_environment(Path(app.instance_path)))
    if config:
        app.config.update(config)

    if app.config.get("PROXY_HOPS"):
        # Behind the README's TLS proxy the client address and scheme come from X-Forwarded-*, trusted
        # for exactly the configured number of hops, so the login rate limit counts real clients.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    from registry import hardening
    from registry.people.protection import FieldKeys

    # Read at start, so a malformed key stops the application here rather than on the first look-up.
    app.extensions["field_keys"] = FieldKeys.from_secret(app.config["FIELD_ENCRYPTION_KEY"])
    hardening.install(app)  # before the blueprints: their `<int:…>` routes take its converter
    _init_extensions(app)
    _register_blueprints(app)
    _connect_screenings(app)
    _register_request_hooks(app)
    _register_cli(app)

    from registry.security import check_production_config, install_log_scrubber

    logging.basicConfig(level=logging.INFO)
    install_log_scrubber()
    check_production_config(app)
    return app


def _init_extensions(app: Flask) -> None:
    from registry.i18n import compiled_catalog_directories, install_template_gettext, select_locale

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    app.config.setdefault(
        "BABEL_TRANSLATION_DIRECTORIES", ";".join(compiled_catalog_directories(Path(app.instance_path)))
    )
    babel.init_app(app, locale_selector=select_locale)
    install_template_gettext(app)
    if app.config.get("REDIS_URL") and app.config["RATELIMIT_STORAGE_URI"] == "memory://":
        redis_url = app.config["REDIS_URL"]
        # The limits library names a unix-socket Redis redis+unix://.
        if redis_url.startswith("unix://"):
            redis_url = "redis+unix://" + redis_url.removeprefix("unix://")
        app.config["RATELIMIT_STORAGE_URI"] = redis_url
        # The web application keeps answering when Redis is down: limits fall back to this process.
        app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    limiter.init_app(app)

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            sa.event.listen(db.engine, "connect", _sqlite_pragmas)
            sa.event.listen(db.engine, "savepoint", _sqlite_savepoint)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_savepoint(connection, _name) -> None:
    # pysqlite opens its transaction lazily, before the first INSERT/UPDATE/DELETE, and not before a
    # SAVEPOINT: the RELEASE of a first savepoint (record_result's, an import row's) would then commit on
    # its own, half a write. Open the transaction first. Everywhere else the lazy BEGIN stays, so a read
    # holds no snapshot that a later write could find stale (SQLITE_BUSY) under concurrent workers.
    if not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN")


def _register_blueprints(app: Flask) -> None:
    from registry.admin.views import bp as admin_bp
    from registry.auth.views import bp as auth_bp
    from registry.home import bp as home_bp
    from registry.job_records import bp as jobs_bp
    from registry.notifications import bp as notifications_bp
    from registry.people.merge_views import bp as merges_bp
    from registry.people.views import bp as people_bp
    from screenings.district_settings.views import bp as district_settings_bp
    from screenings.imports.views import bp as imports_bp
    from screenings.indicators.views import bp as indicators_bp
    from screenings.reports.views import bp as reports_bp
    from screenings.routine_recall import bp as routine_bp
    from screenings.views import bp as screenings_bp

    for blueprint in (
        auth_bp,
        home_bp,
        people_bp,
        admin_bp,
        screenings_bp,
        jobs_bp,
        notifications_bp,
        merges_bp,
        imports_bp,
        indicators_bp,
        reports_bp,
        district_settings_bp,
        routine_bp,
    ):
        app.register_blueprint(blueprint)

    from registry import api
    from screenings.api import bp as api_bp
    from screenings.api.schemas import values_components

    api.install(app, [api_bp], values_components())


def _connect_screenings(app: Flask) -> None:
    # The one place the kernel names the domain: screenings registers its navigation, person-page
    # panel, notification kinds, demo data and responsibility provider with registry.hooks.
    from screenings.wiring import register

    register(app)


def _register_request_hooks(app: Flask) -> None:
    from registry import hooks, i18n, labels
    from registry.auth import access
    from registry.auth.views import load_logged_in_user, require_second_factor
    from registry.people.idnumbers import mask_id_number, mask_phone
    from registry.security import add_security_headers
    from registry.web import current_scope

    app.before_request(load_logged_in_user)
    app.before_request(require_second_factor)
    app.after_request(add_security_headers)
    app.jinja_env.filters.update(
        masked_id=mask_id_number,
        masked_phone=mask_phone,
        label=labels.label,
        audit_action=labels.audit_action_label,
        audit_record=labels.audit_record_label,
        actor_name=labels.actor_name,
        job_kind=labels.job_kind_label,
        local_date=i18n.local_date,
        local_datetime=i18n.local_datetime,
    )
    app.jinja_env.globals.update(
        html_lang=i18n.html_lang,
        access=access,
        current_scope=current_scope,
        supported_locales=i18n.SUPPORTED_LOCALES,
        navigation=lambda user: hooks.registry_of(app).nav_for(user),
        person_panels=lambda: hooks.registry_of(app).panels(),
    )

    for status in (400, 403, 404, 413, 429, 500):
        app.register_error_handler(status, _error_page)
    app.register_error_handler(sa.exc.OperationalError, _database_unavailable)


def _error_page(error):
    from registry import api
    from registry.hardening import bad_field

    if request.path.startswith(f"{api.PREFIX}/") and isinstance(error, HTTPException):
        # A URL under the API that no route matches (/api/v1/results/1.5): a problem, as the API answers.
        return api.handle_http_error(error)

    code = getattr(error, "code", 500) or 500
    limit_mb = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
    return render_template("error.html", code=code, bad_field=bad_field(), limit_mb=limit_mb), code


def _database_unavailable(error: sa.exc.OperationalError):
    """The database is restarting, unreachable or busy: say so and to try again, instead of a bare 500.

    The request's transaction is lost with its connection, so nothing of it was saved; the page is drawn
    without the signed-in user's menu, which would need the database.
    """
    current_app.logger.warning("database unavailable: %s", type(error.orig).__name__)
    with contextlib.suppress(sa.exc.SQLAlchemyError):
        db.session.rollback()
    g.user = None
    response = make_response(render_template("error.html", code=503, bad_field=None, limit_mb=0), 503)
    response.headers["Retry-After"] = "30"
    return response


def _register_cli(app: Flask) -> None:
    from registry.cli import register_commands

    register_commands(app)
