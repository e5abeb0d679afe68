"""Institution and user administration, each change audited in the same transaction."""

import dataclasses
import datetime as dt

import sqlalchemy as sa

from registry import audit
from registry.audit import Actor
from registry.auth.models import Role, User
from registry.auth.passwords import hash_password
from registry.auth.services import end_all_sessions, set_password
from registry.extensions import db
from registry.i18n import N_
from registry.institutions import Institution, InstitutionKind, expected_parent_kind


class AdminError(ValueError):
    """A change refused for a reason that names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclasses.dataclass(frozen=True)
class InstitutionData:
    code: str
    name: str
    kind: InstitutionKind
    parent_id: int | None
    phone: str | None = None
    address: str | None = None
    active: bool = True


def _check_institution(data: InstitutionData, institution_id: int | None) -> None:
    taken = db.session.scalar(sa.select(Institution.id).where(Institution.code == data.code))
    if taken is not None and taken != institution_id:
        raise AdminError("code", N_("code already used by another institution"))
    wanted = expected_parent_kind(data.kind)
    parent = db.session.get(Institution, data.parent_id) if data.parent_id else None
    if wanted is None and parent is not None:
        raise AdminError("parent_id", N_("a city has no parent"))
    if wanted is not None and (parent is None or parent.kind != wanted):
        raise AdminError("parent_id", N_("the parent must be a district (or a city, for a district)"))
    if institution_id is not None and parent is not None and parent.id == institution_id:
        raise AdminError("parent_id", N_("an institution cannot be its own parent"))


def save_institution(
    data: InstitutionData, actor: Actor, now: dt.datetime, institution: Institution | None = None
) -> Institution:
    _check_institution(data, institution.id if institution else None)
    before = {} if institution is None else {f: getattr(institution, f) for f in dataclasses.asdict(data)}
    if institution is None:
        institution = Institution(**dataclasses.asdict(data))
        db.session.add(institution)
        action = "CREATE"
    else:
        for field, value in dataclasses.asdict(data).items():
            setattr(institution, field, value)
        action = "UPDATE"
    db.session.flush()
    audit.record(
        actor,
        now,
        "institution",
        institution.id,
        action,
        audit.describe_changes(before, dataclasses.asdict(data)),
    )
    return institution


@dataclasses.dataclass(frozen=True)
class UserData:
    username: str
    full_name: str
    role: Role
    institution_id: int
    active: bool = True
    sees_restricted_records: bool = False
    email: str | None = None


# Audit actions the auditor's trail marks for review: an administrator handing out what separation of duties
# (等保2.0 三员分立) keeps apart from administration, i.e. PMTCT records, the audit trail, an auditor's login.
SENSITIVE_GRANT = "SENSITIVE_GRANT"


def _sensitive_changes(user: User | None, data: UserData, password_set: bool) -> list[str]:
    was_auditor = user is not None and user.role == Role.AUDITOR
    changes = []
    if data.sees_restricted_records and not (user is not None and user.sees_restricted_records):
        changes.append("PMTCT access granted")
    if data.role == Role.AUDITOR and not was_auditor:
        changes.append("auditor role granted")
    if password_set and user is not None and (was_auditor or data.role == Role.AUDITOR):
        changes.append("auditor's password set by an administrator")
    return changes


def _check_self_grant(user: User | None, data: UserData, actor: Actor) -> None:
    """Nobody gives themself PMTCT access or the audit trail: another administrator must."""
    if user is None or user.id != actor.user_id:
        return
    if data.sees_restricted_records and not user.sees_restricted_records:
        raise AdminError("sees_restricted_records", N_("another administrator must grant you PMTCT access"))
    if data.role != user.role:
        raise AdminError("role", N_("another administrator must change your own role"))


def _flag(actor: Actor, now: dt.datetime, user_id: int, changes: list[str]) -> None:
    if changes:
        audit.record(actor, now, "user", user_id, SENSITIVE_GRANT, "; ".join(changes))


def create_user(data: UserData, password: str, actor: Actor, now: dt.datetime) -> User:
    if db.session.scalar(sa.select(User.id).where(User.username == data.username)) is not None:
        raise AdminError("username", N_("this username is taken"))
    user = User(
        **dataclasses.asdict(data),
        password_hash=hash_password(password),
        created_at=now,
        password_changed_at=now,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(actor, now, "user", user.id, "CREATE", f"role {data.role.value}")
    _flag(actor, now, user.id, _sensitive_changes(None, data, password_set=False))
    return user


def update_user(
    user: User, data: UserData, actor: Actor, now: dt.datetime, new_password: str | None = None
) -> User:
    """Change a user; disabling an account or changing its role or password ends its sessions at once."""
    if data.username != user.username:
        raise AdminError("username", N_("a username cannot be changed"))
    _check_self_grant(user, data, actor)
    sensitive = _sensitive_changes(user, data, password_set=bool(new_password))
    before = {f: getattr(user, f) for f in dataclasses.asdict(data)}
    for field, value in dataclasses.asdict(data).items():
        setattr(user, field, value)
    summary = audit.describe_changes(before, dataclasses.asdict(data))
    if new_password:
        set_password(user, new_password, now)
        summary += "; password reset"
    if not data.active or before["role"] != data.role or before["institution_id"] != data.institution_id:
        end_all_sessions(user.id)
    if not data.active:
        user.locked_until = None
    audit.record(actor, now, "user", user.id, "UPDATE", summary)
    _flag(actor, now, user.id, sensitive)
    return user


def unlock_user(user: User, actor: Actor, now: dt.datetime) -> None:
    user.locked_until = None
    user.failed_login_count = 0
    audit.record(actor, now, "user", user.id, "UNLOCK")
