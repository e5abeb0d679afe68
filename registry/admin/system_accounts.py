"""The administrator's page of system accounts: make one for a lab system, issue and revoke its tokens.

A new token is shown once, on the page that answers the request that made it (never in a flash message,
which would travel in the session cookie), and only its hash is kept.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from registry.admin.views import _institution_choices, bp
from registry.auth.access import may_administer
from registry.auth.models import ApiToken, Role, User
from registry.auth.system_accounts import (
    SystemAccountError,
    create_system_account,
    issue_token,
    revoke_token,
    tokens_by_account,
)
from registry.extensions import db
from registry.web import current_actor, permission_required, refuse, utcnow


class SystemAccountForm(FlaskForm):
    username = StringField(
        _l("Account name"), validators=[DataRequired(), Length(max=40), Regexp(r"^[A-Za-z0-9_.-]+$")]
    )
    full_name = StringField(_l("System"), validators=[Length(max=100)])
    institution_id = SelectField(_l("Institution"))
    pmtct = BooleanField(_l("The institution works on prevention of mother-to-child transmission (PMTCT)"))


def _page(form: SystemAccountForm, issued=None, status: int = 200):
    form.institution_id.choices = _institution_choices()
    accounts = db.session.scalars(
        sa.select(User).where(User.role == Role.SYSTEM_ACCOUNT).order_by(User.username)
    ).all()
    tokens = tokens_by_account(accounts)
    return (
        render_template(
            "admin/system_accounts.html", form=form, accounts=accounts, tokens=tokens, issued=issued
        ),
        status,
    )


@bp.route("/system-accounts", methods=["GET", "POST"])
@permission_required(may_administer)
def system_accounts():
    form = SystemAccountForm()
    form.institution_id.choices = _institution_choices()  # before validation: it checks the choice
    if not form.validate_on_submit():
        return _page(form, status=422 if form.is_submitted() else 200)
    from registry.institutions import Institution

    institution = db.session.get(Institution, int(form.institution_id.data))
    actor, now = current_actor(), utcnow()
    try:
        account = create_system_account(
            form.username.data.strip(), institution, actor, now,
            full_name=(form.full_name.data or "").strip(), restricted_programs=form.pmtct.data,
        )  # fmt: skip
    except SystemAccountError:
        db.session.rollback()
        form.username.errors = [*form.username.errors, _("This name is already used.")]
        return _page(form, status=422)
    issued = issue_token(account, actor, now)
    db.session.commit()
    return _page(SystemAccountForm(formdata=None), issued)


@bp.route("/system-accounts/<int:user_id>/tokens", methods=["POST"])
@permission_required(may_administer)
def issue_system_token(user_id: int):
    account = db.session.get(User, user_id)
    if account is None or account.role is not Role.SYSTEM_ACCOUNT:
        refuse(404, "not a system account")
    issued = issue_token(account, current_actor(), utcnow())
    db.session.commit()
    return _page(SystemAccountForm(formdata=None), issued)


@bp.route("/system-accounts/revoke", methods=["POST"])
@permission_required(may_administer)
def revoke_system_token():
    token = db.session.get(ApiToken, request.form.get("token_id", type=int) or 0)
    if token is None:
        refuse(404, "no such token")
    revoke_token(token, current_actor(), utcnow())
    db.session.commit()
    flash(
        _("Token %(prefix)s… revoked: calls with it are refused from now on.", prefix=token.prefix), "success"
    )
    return redirect(url_for("admin.system_accounts"))
