"""Users and their server-side login sessions."""

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import UTCDateTime, str_enum
from registry.extensions import db
from registry.institutions import Institution


class Role(enum.StrEnum):
    CLINIC_STAFF = "CLINIC_STAFF"
    FOLLOW_UP_COORDINATOR = "FOLLOW_UP_COORDINATOR"
    PROGRAM_MANAGER = "PROGRAM_MANAGER"
    SYSTEM_ADMIN = "SYSTEM_ADMIN"
    AUDITOR = "AUDITOR"
    # A lab's or hospital's information system calling the JSON API with a bearer token; never logs in.
    SYSTEM_ACCOUNT = "SYSTEM_ACCOUNT"


# The roles of people, who log in to the web pages (a system account only calls the API).
WEB_ROLES = tuple(role for role in Role if role is not Role.SYSTEM_ACCOUNT)


class User(db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(100), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institution.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Where reminder e-mails go (optional; in-app notifications always reach the user).
    email: Mapped[str | None] = mapped_column(sa.String(200))
    # Works on the restricted programs (PMTCT: HIV, syphilis, hepatitis B); others must break the glass.
    sees_restricted_records: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    failed_login_count: Mapped[int] = mapped_column(default=0)
    last_failed_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The second factor (registry/auth/two_factor.py): the TOTP secret, when it was turned on, the last
    # time step accepted (a code is never accepted twice) and the hashes of the unused recovery codes.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    recovery_code_hashes: Mapped[list[str] | None] = mapped_column(sa.JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    institution: Mapped[Institution] = relationship(lazy="joined")

    def is_locked(self, now: dt.datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


class LoginSession(db.Model):
    """A login that the server can end: logout, disabling the account and timeouts delete or refuse it."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Only a hash of the token is stored, so a read of this table cannot hijack a session.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ip_address: Mapped[str | None] = mapped_column(sa.String(64))

    user: Mapped[User] = relationship(lazy="joined")


class BreakGlassGrant(db.Model):
    """A user's stated reason to open one person's restricted records, valid for a short time."""

    __tablename__ = "break_glass_grant"
    __table_args__ = (sa.Index("ix_break_glass_grant_user_person", "user_id", "person_id", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"))
    reason: Mapped[str] = mapped_column(sa.Text)
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ApiToken(db.Model):
    """A system account's bearer token for the JSON API: shown once, stored as a SHA-256 hash, revocable."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of a 256-bit random token: a read of this table cannot call the API.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The token's first characters, so an administrator can tell tokens apart without the secret.
    prefix: Mapped[str] = mapped_column(sa.String(16))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(sa.String(80))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="joined")
