"""Pages where a system administrator manages institutions and users."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from redis.exceptions import RedisError
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from registry import hooks
from registry.admin import queries, services
from registry.admin.services import AdminError, InstitutionData, UserData
from registry.auth import two_factor
from registry.auth.access import may_administer
from registry.auth.models import WEB_ROLES, Role
from registry.auth.passwords import password_problems
from registry.auth.services import end_all_sessions
from registry.extensions import db
from registry.institutions import InstitutionKind
from registry.labels import INSTITUTION_KIND_LABELS, ROLE_LABELS
from registry.web import current_actor, permission_required, utcnow

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _institution_choices(kinds=None) -> list[SelectChoice]:
    return [SelectChoice(str(i.id), f"{i.code} {i.name}") for i in queries.institutions(kinds)]


EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class InstitutionForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32), Regexp(r"^[A-Za-z0-9_-]+$")])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(
        _l("Kind"), choices=[SelectChoice(k.value, v) for k, v in INSTITUTION_KIND_LABELS.items()]
    )
    parent_id = SelectField(_l("Parent"), validators=[Optional()])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    active = BooleanField(_l("Active"), default=True)


class UserForm(FlaskForm):
    username = StringField(
        _l("Username"), validators=[DataRequired(), Length(max=64), Regexp(r"^[A-Za-z0-9_.-]+$")]
    )
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=100)])
    email = StringField(
        _l("E-mail (for reminders)"),
        validators=[
            Optional(),
            Length(max=200),
            Regexp(EMAIL_PATTERN, message=_l("Enter an e-mail address like name@example.cn.")),
        ],
    )
    # System accounts are made with `registry api-token create`: they have tokens, not passwords.
    role = SelectField(
        _l("Role"), choices=[SelectChoice(r.value, v) for r, v in ROLE_LABELS.items() if r in WEB_ROLES]
    )
    institution_id = SelectField(_l("Institution"))
    active = BooleanField(_l("Active"), default=True)
    sees_restricted_records = BooleanField(
        _l("Works on the protected programs (opens their records without stating a reason)")
    )
    password = PasswordField(_l("New password"), validators=[Optional(), Length(max=128)])

    password_required = True

    def validate_password(self, field):
        if not field.data:
            if self.password_required:
                raise ValidationError(_l("Enter a password for the new user."))
            return
        config = current_app.config
        problems = password_problems(
            field.data,
            self.username.data or "",
            config["PASSWORD_MIN_LENGTH"],
            config["PASSWORD_REQUIRE_CHARACTER_CLASSES"],
        )
        if problems:
            raise ValidationError(" ".join(problems))


@bp.route("/")
@permission_required(may_administer)
def index():
    return redirect(url_for("admin.institutions"))


@bp.route("/institutions")
@permission_required(may_administer)
def institutions():
    rows = queries.institutions()
    return render_template("admin/institutions.html", institutions=rows)


@bp.route("/institutions/new", methods=["GET", "POST"])
@bp.route("/institutions/<int:institution_id>", methods=["GET", "POST"])
@permission_required(may_administer)
def edit_institution(institution_id: int | None = None):
    institution = queries.institution(institution_id) if institution_id else None
    if institution_id and institution is None:
        abort(404)
    form = InstitutionForm(obj=institution)
    form.parent_id.choices = [
        SelectChoice("", "—"),
        *_institution_choices([InstitutionKind.CITY, InstitutionKind.DISTRICT]),
    ]
    if institution is not None and not form.is_submitted():
        form.parent_id.data = str(institution.parent_id or "")
    if form.validate_on_submit():
        data = InstitutionData(
            code=form.code.data.strip(),
            name=form.name.data.strip(),
            kind=InstitutionKind(form.kind.data),
            parent_id=int(form.parent_id.data) if form.parent_id.data else None,
            phone=form.phone.data or None,
            address=form.address.data or None,
            active=form.active.data,
        )
        try:
            services.save_institution(data, current_actor(), utcnow(), institution)
        except AdminError as error:
            db.session.rollback()
            getattr(form, error.field).errors = [*getattr(form, error.field).errors, _(error.message)]
        else:
            db.session.commit()
            flash(_("Institution saved."), "success")
            return redirect(url_for("admin.institutions"))
    return render_template("admin/institution_form.html", form=form, institution=institution)


@bp.route("/users")
@permission_required(may_administer)
def users():
    rows = queries.users()
    return render_template("admin/users.html", users=rows, now=utcnow())


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@permission_required(may_administer)
def edit_user(user_id: int | None = None):
    user = queries.user(user_id) if user_id else None
    if user_id and user is None:
        abort(404)
    form = UserForm(obj=user)
    form.password_required = user is None
    form.institution_id.choices = _institution_choices()
    if user is not None:
        form.username.render_kw = {"readonly": True}
        if not form.is_submitted():
            form.institution_id.data = str(user.institution_id)
    if form.validate_on_submit():
        data = UserData(
            username=form.username.data.strip(),
            full_name=form.full_name.data.strip(),
            role=Role(form.role.data),
            institution_id=int(form.institution_id.data),
            active=form.active.data,
            sees_restricted_records=form.sees_restricted_records.data,
            email=(form.email.data or "").strip() or None,
        )
        try:
            if user is None:
                services.create_user(data, form.password.data, current_actor(), utcnow())
            else:
                services.update_user(user, data, current_actor(), utcnow(), form.password.data or None)
        except AdminError as error:
            db.session.rollback()
            getattr(form, error.field).errors = [*getattr(form, error.field).errors, _(error.message)]
        else:
            db.session.commit()
            flash(_("User saved."), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user)


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@permission_required(may_administer)
def unlock_user(user_id: int):
    user = queries.user(user_id) or abort(404)
    services.unlock_user(user, current_actor(), utcnow())
    db.session.commit()
    flash(_("User unlocked."), "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/second-factor/reset", methods=["POST"])
@permission_required(may_administer)
def reset_second_factor(user_id: int):
    """Remove a user's authenticator app (a lost phone); they set up a new one at their next login."""
    user = queries.user(user_id) or abort(404)
    two_factor.turn_off(user, current_actor(), utcnow())
    end_all_sessions(user.id)  # a session opened with the lost phone ends too
    db.session.commit()
    flash(_("The second factor was reset; the user sets up a new app at the next login."), "success")
    return redirect(url_for("admin.users"))


@bp.route("/jobs")
@permission_required(may_administer)
def jobs():
    """Background jobs: failed ones first with their error, then the most recent; the queue's state."""
    from registry.jobs import redis_connection

    failed = queries.failed_jobs()
    recent = queries.recent_jobs()
    try:
        queue_up = bool(redis_connection().ping())
    except RedisError:
        queue_up = False
    return render_template(
        "admin/jobs.html",
        failed=failed,
        recent=recent,
        queue_up=queue_up,
        manual_jobs=list(hooks.current().manual_jobs.values()),
        result_link=job_result_link,
        result_summary=job_result_summary,
    )


def job_result_link(job) -> str | None:
    """Return the page of what a job worked on (an import's batch), as its domain registered it."""
    target = hooks.current().job_result_links.get(job.kind)
    if target is None or not job.args or not str(job.args[0]).isdigit():
        return None
    endpoint, argument, *anchor = target
    record_id = int(job.args[0])
    values = {argument: record_id} if argument else {}
    if anchor:
        values["_anchor"] = anchor[0].format(record_id)
    return url_for(endpoint, **values)


def job_result_summary(job) -> str:
    """Return what a finished job did, in the words its domain registered (empty when none)."""
    summarise = hooks.current().job_result_summaries.get(job.kind)
    if summarise is None or not isinstance(job.result, dict):
        return ""
    try:
        return summarise(job.result)
    except (KeyError, TypeError, ValueError):  # a result stored by an older version of the job
        return ""


@bp.route("/jobs/start/<kind>", methods=["POST"])
@permission_required(may_administer)
def start_job(kind: str):
    from registry.job_records import start_job as start

    # What an administrator may start by hand (the domain's scheduled jobs, registered in registry.hooks),
    # for a day that was missed or to try again.
    job = hooks.current().manual_jobs.get(kind) or abort(404)
    record = start(kind, job.function, actor=current_actor(), now=utcnow())
    _flash_queued(record)
    return redirect(url_for("admin.jobs"))


@bp.route("/jobs/<int:record_id>/retry", methods=["POST"])
@permission_required(may_administer)
def retry_job(record_id: int):
    from registry.job_records import retry_job as retry

    record = queries.job(record_id) or abort(404)
    try:
        retry(record, current_actor(), utcnow())
    except ValueError:
        flash(_("Only a failed or waiting job can be started again."), "error")
        return redirect(url_for("admin.jobs"))
    _flash_queued(record)
    return redirect(url_for("admin.jobs"))


def _flash_queued(record) -> None:
    if record.waiting_for_queue:
        flash(
            _(
                "The job queue (Redis) is not reachable. Job %(id)s is saved and will start by itself once "
                "the queue is back; you can also start it again here.",
                id=record.id,
            ),
            "error",
        )
    else:
        flash(_("Job %(id)s is queued.", id=record.id), "success")


from registry.admin import system_accounts  # noqa: E402, F401 (its routes join this blueprint)
