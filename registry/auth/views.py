"""Login, logout and the language switch."""

import datetime as dt

import segno
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import refresh as refresh_locale
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from registry.auth import services, two_factor
from registry.auth.services import LoginPolicy
from registry.extensions import db, limiter
from registry.i18n import SUPPORTED_LOCALES
from registry.web import current_actor, login_required, utcnow

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
        if result.needs_second_factor:
            # Only the user's id waits in the cookie, for a few minutes; no session exists yet.
            session["second_factor"] = {"user_id": result.user.id, "since": utcnow().isoformat()}
            return redirect(url_for("auth.second_factor"))
        if result.refusal is None:
            return _logged_in(result.token)
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


def _logged_in(token: str):
    """Start the browser's session for a login that passed every check, and go where the user was going."""
    next_url = session.get("next")
    lang = session.get("lang")
    # A fresh cookie on every login: a session id planted before login is worth nothing.
    session.clear()
    session["token"] = token
    if lang:
        session["lang"] = lang
    if next_url and next_url.startswith("/") and not next_url.startswith("//"):
        return redirect(next_url)
    return redirect(url_for("home.index"))


class SecondFactorForm(FlaskForm):
    code = StringField(
        _l("Code from the authenticator app, or a recovery code"), validators=[DataRequired(), Length(max=20)]
    )


SECOND_FACTOR_MINUTES = 5


@bp.route("/login/second-factor", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"])
def second_factor():
    pending = session.get("second_factor")
    started = dt.datetime.fromisoformat(pending["since"]) if pending else None
    if started is None or utcnow() - started > dt.timedelta(minutes=SECOND_FACTOR_MINUTES):
        session.pop("second_factor", None)
        flash(
            _("Log in again: the step for the second factor lasts %(n)d minutes.", n=SECOND_FACTOR_MINUTES),
            "info",
        )
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        policy = LoginPolicy.from_config(current_app.config)
        result = services.attempt_second_factor(
            pending["user_id"], form.code.data, utcnow(), policy, current_actor()
        )
        db.session.commit()
        if result.refusal is None:
            return _logged_in(result.token)
        form.code.errors = [_("The code is not right, or it was used already. Try the next code.")]
    return render_template("auth/second_factor.html", form=form)


class EnrolForm(FlaskForm):
    code = StringField(_l("The 6-digit code the app shows now"), validators=[DataRequired(), Length(max=10)])


@bp.route("/account/second-factor", methods=["GET", "POST"])
@login_required
def enrol_second_factor():
    """Turn on the authenticator app: scan the code, type the app's first code, keep the recovery codes."""
    user = g.user
    if two_factor.is_enrolled(user):
        return render_template("auth/enrol.html", enrolled=True, required=two_factor.must_use(user))
    # The secret waits in the signed cookie until the app proves it has it; the database sees it only then.
    secret = session.get("enrolling_secret") or two_factor.new_secret()
    session["enrolling_secret"] = secret
    form = EnrolForm()
    if form.validate_on_submit():
        codes = two_factor.confirm_enrolment(user, secret, form.code.data, current_actor(), utcnow())
        if codes is not None:
            db.session.commit()
            session.pop("enrolling_secret", None)
            return render_template("auth/enrol.html", enrolled=True, recovery_codes=codes)
        form.code.errors = [_("The code does not match. Check the phone's time and type the code shown now.")]
    uri = two_factor.provisioning_uri(user, secret)
    qr_svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#222")
    return render_template(
        "auth/enrol.html",
        enrolled=False,
        form=form,
        secret=secret,
        qr_svg=qr_svg,
        required=two_factor.must_use(user),
    )


# Pages a user who must still set up the second factor may reach.
_OPEN_BEFORE_ENROLMENT = {"auth.enrol_second_factor", "auth.logout", "auth.set_language", "static"}


def require_second_factor():
    """Where the deployment requires it, send administrators and PMTCT users to set up the app first."""
    user = g.get("user")
    if (
        user is None
        or not current_app.config.get("TWO_FACTOR_REQUIRED")
        or request.endpoint in _OPEN_BEFORE_ENROLMENT
        or not two_factor.must_use(user)
        or two_factor.is_enrolled(user)
    ):
        return None
    flash(_("Your work needs a second factor at login: set up an authenticator app to go on."), "info")
    return redirect(url_for("auth.enrol_second_factor"))


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
