"""Display labels for the registry's enumerations, translated at render time."""

from flask_babel import lazy_gettext as _l

from registry.auth.models import Role
from registry.institutions import InstitutionKind
from registry.people.merge import DuplicateReason
from registry.people.models import Household, IdDocumentType, PersonKind, Sex

ROLE_LABELS = {
    Role.CLINIC_STAFF: _l("Clinic staff"),
    Role.FOLLOW_UP_COORDINATOR: _l("Follow-up coordinator"),
    Role.PROGRAM_MANAGER: _l("Program manager"),
    Role.SYSTEM_ADMIN: _l("System administrator"),
    Role.AUDITOR: _l("Auditor"),
    Role.SYSTEM_ACCOUNT: _l("System account (API)"),
}
INSTITUTION_KIND_LABELS = {
    InstitutionKind.CITY: _l("City"),
    InstitutionKind.DISTRICT: _l("District"),
    InstitutionKind.MCH_CENTRE: _l("MCH centre"),
    InstitutionKind.BIRTHING_HOSPITAL: _l("Birthing hospital"),
    InstitutionKind.COMMUNITY_HEALTH_CENTRE: _l("Community health centre"),
    InstitutionKind.DIAGNOSIS_CENTRE: _l("Diagnosis centre"),
    InstitutionKind.LABORATORY: _l("Laboratory"),
}
PERSON_KIND_LABELS = {
    PersonKind.WOMAN: _l("Woman"),
    PersonKind.NEWBORN: _l("Newborn"),
    PersonKind.CHILD: _l("Child"),
    PersonKind.OTHER: _l("Other"),
}
SEX_LABELS = {Sex.FEMALE: _l("Female"), Sex.MALE: _l("Male"), Sex.UNKNOWN: _l("Undetermined")}
HOUSEHOLD_LABELS = {Household.LOCAL: _l("Local household"), Household.NON_LOCAL: _l("Non-local household")}
ID_TYPE_LABELS = {
    IdDocumentType.RESIDENT_ID: _l("Resident ID card"),
    IdDocumentType.PASSPORT: _l("Passport"),
    IdDocumentType.HK_MACAO_PERMIT: _l("Hong Kong / Macao permit"),
    IdDocumentType.TAIWAN_PERMIT: _l("Taiwan permit"),
    IdDocumentType.FOREIGN_PERMANENT_RESIDENT: _l("Foreign permanent resident ID"),
    IdDocumentType.NONE: _l("None yet"),
}

DUPLICATE_REASON_LABELS = {
    DuplicateReason.SAME_DOCUMENT: _l("Same identity document number"),
    DuplicateReason.SAME_NAME_AND_BIRTH_DATE: _l("Same name (pinyin) and birth date"),
    DuplicateReason.SAME_MOTHER_AND_BIRTH_ORDER: _l("Same mother and birth order"),
    DuplicateReason.SAME_MOTHER_AND_BIRTH_DATE: _l("Same mother and birth date"),
}

AUDIT_RECORD_LABELS = {
    "person": _l("Person"),
    "user": _l("User"),
    "institution": _l("Institution"),
    "api_token": _l("API token"),
    "audit_event": _l("Audit trail"),
    "demo": _l("Demo data"),
    "job_record": _l("Background job"),
}

AUDIT_ACTION_LABELS = {
    "CREATE": _l("Created"),
    "UPDATE": _l("Changed"),
    "READ": _l("Protected record viewed"),
    "REVEAL": _l("Identifier revealed"),
    "SEARCH": _l("Searched"),
    "EXPORT": _l("Exported"),
    "LOGIN": _l("Logged in"),
    "LOGOUT": _l("Logged out"),
    "LOGIN_FAILED": _l("Login refused"),
    "PASSWORD_OK": _l("Password accepted, second factor asked"),
    "TWO_FACTOR_ON": _l("Second factor turned on"),
    "TWO_FACTOR_OFF": _l("Second factor turned off"),
    "RECOVERY_CODE_USED": _l("Recovery code used"),
    "UNLOCK": _l("Account unlocked"),
    "SENSITIVE_GRANT": _l("Sensitive grant"),
    "BREAK_GLASS": _l("Break the glass"),
    "MERGE": _l("People merged"),
    "UNMERGE": _l("Merge undone"),
    "QUEUE": _l("Job queued"),
    "RETRY": _l("Job retried"),
    "MAP": _l("Import columns mapped"),
    "UPLOAD": _l("File uploaded"),
    "IMPORT": _l("Imported"),
    "IMPORT_FAILED": _l("Import failed"),
    "IMPORT_REFUSED": _l("Import refused (all or nothing)"),
}


def audit_action_label(code) -> str:
    """The translated name of an audit action: the kernel's, or the one a domain registered."""
    from registry import hooks

    text = AUDIT_ACTION_LABELS.get(code) or hooks.current().audit_action_labels.get(code)
    return str(text) if text is not None else str(code or "")


def audit_record_label(entity) -> str:
    """The translated name of a kind of audited record: the kernel's, or the one a domain registered."""
    from registry import hooks

    text = AUDIT_RECORD_LABELS.get(entity) or hooks.current().audit_record_labels.get(entity)
    return str(text) if text is not None else str(entity or "")


def actor_name(name) -> str:
    """The name an event or merge stored for who did it; a system actor ("system:…") is called System."""
    return str(_l("System")) if str(name or "").startswith("system:") else str(name or "")


def job_kind_label(kind) -> str:
    """The translated name of a background job's kind, as its domain registered it."""
    from registry import hooks

    text = hooks.current().job_kind_labels.get(kind)
    return str(text) if text is not None else str(kind or "")


def label(value) -> str:
    """The translated label of any enumeration member known here."""
    for table in (
        ROLE_LABELS,
        INSTITUTION_KIND_LABELS,
        PERSON_KIND_LABELS,
        SEX_LABELS,
        HOUSEHOLD_LABELS,
        ID_TYPE_LABELS,
        DUPLICATE_REASON_LABELS,
    ):
        if value in table:
            return str(table[value])
    return str(value)
