"""Login, logout and the language switch."""

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import refresh as refresh_locale
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from registry.auth import services
from registry.auth.services import LoginPolicy
from registry.extensions import db, limiter
from registry.i18n import SUPPORTED_LOCALES
from registry.web import current_actor, utcnow

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=128)])


def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        policy = LoginPolicy.from_config(current_app.config)
        result = services.attempt_login(
            form.username.data, form.password.data, utcnow(), policy, current_actor()
        )
        db.session.commit()
        if result.refusal is None:
            next_url = session.get("next")
            lang = session.get("lang")
            # A fresh cookie on every login: a session id planted before login is worth nothing.
            session.clear()
            session["token"] = result.token
            if lang:
                session["lang"] = lang
            if next_url and next_url.startswith("/") and not next_url.startswith("//"):
                return redirect(next_url)
            return redirect(url_for("home.index"))
        # One message for a wrong password, an unknown username and a locked account alike: a different
        # answer after five failures would tell an attacker which usernames exist (security.md item 4).
        flash(
            _(
                "Wrong username or password. After %(n)d failed attempts an account is locked for "
                "%(minutes)d minutes.",
                n=policy.max_failures,
                minutes=int(policy.lock_duration.total_seconds() // 60),
            ),
            "error",
        )
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    token = session.get("token")
    if token:
        services.end_session(token, current_actor(), utcnow())
        db.session.commit()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language/<code>", methods=["POST"])
def set_language(code: str):
    if code in SUPPORTED_LOCALES:
        session["lang"] = code
    target = request.form.get("next") or url_for("home.index")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("home.index")
    return redirect(target)


def load_logged_in_user() -> None:
    """Resolve the session cookie to a live server-side session before each request."""
    # A request may run inside an application context pushed earlier (a test, a CLI command),
    # so per-request state cached on g or by Flask-Babel from a previous request is dropped.
    g.pop("scope", None)
    refresh_locale()
    g.user = None
    token = session.get("token")
    if not token:
        return
    login = services.resume_session(token, utcnow(), LoginPolicy.from_config(current_app.config))
    if login is None:
        session.pop("token", None)
        db.session.commit()
        return
    if db.session.dirty:
        db.session.commit()
    g.user = login.user
