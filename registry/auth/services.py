"""Logging in and out, lockout, and ending sessions: the server decides when a login ends."""

import dataclasses
import datetime as dt
import enum
import hashlib
import secrets

import sqlalchemy as sa

from registry import audit
from registry.audit import Actor
from registry.auth.models import LoginSession, Role, User
from registry.auth.passwords import DUMMY_HASH, hash_password, verify_password
from registry.auth.two_factor import is_enrolled
from registry.auth.two_factor import verify as verify_second_factor
from registry.extensions import db


@dataclasses.dataclass(frozen=True)
class LoginPolicy:
    max_failures: int
    lock_duration: dt.timedelta
    idle_timeout: dt.timedelta
    absolute_timeout: dt.timedelta

    @classmethod
    def from_config(cls, config) -> "LoginPolicy":
        return cls(
            max_failures=config["LOGIN_MAX_FAILURES"],
            lock_duration=config["LOGIN_LOCK_DURATION"],
            idle_timeout=config["LOGIN_IDLE_TIMEOUT"],
            absolute_timeout=config["LOGIN_ABSOLUTE_TIMEOUT"],
        )


class LoginRefusal(enum.StrEnum):
    BAD_CREDENTIALS = "BAD_CREDENTIALS"
    LOCKED = "LOCKED"


@dataclasses.dataclass(frozen=True)
class LoginResult:
    user: User | None
    token: str | None
    refusal: LoginRefusal | None
    # The password was right, and the user's second factor must be checked before a session opens.
    needs_second_factor: bool = False


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def attempt_login(
    username: str, password: str, now: dt.datetime, policy: LoginPolicy, actor: Actor
) -> LoginResult:
    """Check a password; on success open a new server-side session, on failure count towards the lock."""
    user = db.session.scalar(sa.select(User).where(User.username == username.strip()))
    if user is None:
        verify_password(DUMMY_HASH, password)
        audit.record(actor, now, "user", None, "LOGIN_FAILED", "unknown username")
        audit.security_log.warning("login failed: unknown username (request %s)", actor.request_id)
        return LoginResult(None, None, LoginRefusal.BAD_CREDENTIALS)
    if user.is_locked(now):
        verify_password(DUMMY_HASH, password)
        audit.record(actor, now, "user", user.id, "LOGIN_FAILED", "account locked")
        audit.security_log.warning("login refused: user %s is locked", user.id)
        return LoginResult(None, None, LoginRefusal.LOCKED)
    # A system account calls the API with a token and never logs in, whatever its stored hash.
    if (
        not verify_password(user.password_hash, password)
        or not user.active
        or user.role is Role.SYSTEM_ACCOUNT
    ):
        _count_failure(user, now, policy)
        reason = "inactive account" if user.active is False else "wrong password"
        audit.record(actor, now, "user", user.id, "LOGIN_FAILED", reason)
        audit.security_log.warning("login failed for user %s: %s", user.id, reason)
        locked = user.is_locked(now)
        return LoginResult(None, None, LoginRefusal.LOCKED if locked else LoginRefusal.BAD_CREDENTIALS)
    if is_enrolled(user):
        audit.record(actor, now, "user", user.id, "PASSWORD_OK", "second factor asked")
        return LoginResult(user, None, None, needs_second_factor=True)
    return LoginResult(user, open_session(user, actor, now), None)


def attempt_second_factor(
    user_id: int, code: str, now: dt.datetime, policy: LoginPolicy, actor: Actor
) -> LoginResult:
    """Check the code of a login whose password was right; failures count towards the same lock."""
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.is_locked(now):
        return LoginResult(
            None, None, LoginRefusal.LOCKED if user is not None else LoginRefusal.BAD_CREDENTIALS
        )
    if not verify_second_factor(user, code, actor, now):
        _count_failure(user, now, policy)
        audit.record(actor, now, "user", user.id, "LOGIN_FAILED", "wrong second factor")
        audit.security_log.warning("login failed for user %s: wrong second factor", user.id)
        return LoginResult(None, None, LoginRefusal.BAD_CREDENTIALS)
    return LoginResult(user, open_session(user, actor, now), None)


def open_session(user: User, actor: Actor, now: dt.datetime) -> str:
    """Open a server-side session for a user who passed every check; returns the cookie's token."""
    user.failed_login_count = 0
    user.locked_until = None
    token = secrets.token_urlsafe(32)
    db.session.add(
        LoginSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            ip_address=actor.ip_address,
        )
    )
    audit.record(actor, now, "user", user.id, "LOGIN")
    return token


def _count_failure(user: User, now: dt.datetime, policy: LoginPolicy) -> None:
    # Failures older than the lock window no longer count, so a typo a week ago does not contribute.
    if user.last_failed_login_at is None or now - user.last_failed_login_at > policy.lock_duration:
        user.failed_login_count = 0
    user.failed_login_count += 1
    user.last_failed_login_at = now
    if user.failed_login_count >= policy.max_failures:
        user.locked_until = now + policy.lock_duration
        user.failed_login_count = 0


def resume_session(token: str, now: dt.datetime, policy: LoginPolicy) -> LoginSession | None:
    """The live session for a cookie's token, or None once it was ended, timed out or its user disabled."""
    login = db.session.scalar(sa.select(LoginSession).where(LoginSession.token_hash == _token_hash(token)))
    if login is None:
        return None
    expired = (
        now - login.last_seen_at > policy.idle_timeout or now - login.created_at > policy.absolute_timeout
    )
    if expired or not login.user.active:
        db.session.delete(login)
        return None
    # Writing last_seen_at at most once a minute keeps a page view from being a write.
    if now - login.last_seen_at > dt.timedelta(minutes=1):
        login.last_seen_at = now
    return login


def end_session(token: str, actor: Actor, now: dt.datetime) -> None:
    login = db.session.scalar(sa.select(LoginSession).where(LoginSession.token_hash == _token_hash(token)))
    if login is not None:
        db.session.delete(login)
        audit.record(actor, now, "user", login.user_id, "LOGOUT")


def end_all_sessions(user_id: int) -> None:
    db.session.execute(sa.delete(LoginSession).where(LoginSession.user_id == user_id))


def purge_expired_sessions(now: dt.datetime, policy: LoginPolicy) -> int:
    """Delete sessions past their idle or absolute limit; returns how many were removed."""
    result = db.session.execute(
        sa.delete(LoginSession).where(
            sa.or_(
                LoginSession.last_seen_at < now - policy.idle_timeout,
                LoginSession.created_at < now - policy.absolute_timeout,
            )
        )
    )
    return result.rowcount or 0


def set_password(user: User, password: str, now: dt.datetime) -> None:
    """Store a new password and end every session of the user (ASVS 7.4.3)."""
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    if user.id is not None:
        end_all_sessions(user.id)
