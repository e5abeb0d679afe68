"""A second factor at login: TOTP codes from an authenticator app, and one-time recovery codes.

Required for administrators and for users who work on the restricted (PMTCT) programs wherever the
deployment asks for it (TWO_FACTOR_REQUIRED, on in production), open to everyone else (security.md item 11).
"""

import datetime as dt
import hashlib
import secrets

import pyotp

from registry import audit
from registry.audit import Actor
from registry.auth.models import Role, User

ISSUER = "Screening Registry"
RECOVERY_CODES = 10
# One 30-second step either side of now: a phone's clock a little off still works.
VALID_WINDOW = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def must_use(user: User) -> bool:
    """Whether this user's work calls for a second factor: administrators and PMTCT users."""
    return user.role == Role.SYSTEM_ADMIN or bool(user.sees_restricted_records)


def is_enrolled(user: User) -> bool:
    return user.totp_secret is not None and user.totp_enabled_at is not None


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").strip().upper().encode()).hexdigest()


def _accepted_step(secret: str, code: str, now: dt.datetime) -> int | None:
    """The time step a TOTP code belongs to, if it is valid now."""
    totp = pyotp.TOTP(secret)
    code = "".join(code.split())
    if not (code.isascii() and code.isdigit()):  # compare_digest refuses non-ASCII text; such a code is wrong
        return None
    current = int(now.timestamp()) // totp.interval
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def confirm_enrolment(user: User, secret: str, code: str, actor: Actor, now: dt.datetime) -> list[str] | None:
    """Turn the factor on once the app's first code matches; returns the recovery codes to show once."""
    step = _accepted_step(secret, code, now)
    if step is None:
        return None
    codes = [f"{secrets.token_hex(2)}-{secrets.token_hex(2)}".upper() for _ in range(RECOVERY_CODES)]
    user.totp_secret = secret
    user.totp_enabled_at = now
    user.totp_last_step = step
    user.recovery_code_hashes = [_code_hash(c) for c in codes]
    audit.record(actor, now, "user", user.id, "TWO_FACTOR_ON")
    return codes


def verify(user: User, code: str, actor: Actor, now: dt.datetime) -> bool:
    """Check a login's second factor: a fresh TOTP code (never one used twice) or an unused recovery code."""
    if not is_enrolled(user) or not code.strip():
        return False
    step = _accepted_step(user.totp_secret, code, now)
    if step is not None and step > (user.totp_last_step or 0):
        user.totp_last_step = step
        return True
    hashes = list(user.recovery_code_hashes or [])
    if (digest := _code_hash(code)) in hashes:
        hashes.remove(digest)
        user.recovery_code_hashes = hashes
        audit.record(actor, now, "user", user.id, "RECOVERY_CODE_USED", f"{len(hashes)} left")
        return True
    return False


def turn_off(user: User, actor: Actor, now: dt.datetime) -> None:
    """Remove the factor (an administrator's reset for a lost phone, or the user's own choice)."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.recovery_code_hashes = None
    audit.record(actor, now, "user", user.id, "TWO_FACTOR_OFF")
