"""System accounts: a lab's or hospital's information system calling the JSON API, and its bearer tokens.

A system account is a user of role SYSTEM_ACCOUNT at one institution, so that the one access policy
(registry.auth.access, screenings.access) decides what it may see and do exactly as for a person there:
its scope is its institution, and it works on the restricted programs (PMTCT) only when created so.
It has no password and never logs in to the web pages. Its tokens are 256-bit random strings shown once
at creation and stored as SHA-256 hashes (a slow hash buys nothing for a secret of that entropy, and
every API call checks one); revoking a token, or disabling the account, refuses it from the next call.
"""

import dataclasses
import datetime as dt
import hashlib
import secrets

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from registry import audit
from registry.audit import Actor
from registry.auth.models import ApiToken, Role, User
from registry.clock import now as utc_now
from registry.extensions import db
from registry.institutions import Institution

TOKEN_PREFIX = "sr_"
# A stored password hash no password verifies against (argon2 refuses it as malformed).
NO_PASSWORD = "!system-account"


class SystemAccountError(ValueError):
    """A refused change, naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclasses.dataclass(frozen=True)
class IssuedToken:
    """A new token: the stored row and the secret, which is shown this once and never again."""

    token: ApiToken
    secret: str


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_system_account(
    username: str,
    institution: Institution,
    actor: Actor,
    now: dt.datetime,
    *,
    full_name: str = "",
    restricted_programs: bool = False,
) -> User:
    """Create a system account at an institution (working on PMTCT only when `restricted_programs`)."""
    username = username.strip()
    # The name is the source system of the account's results (40 characters at most there).
    if not username or len(username) > 40:
        raise SystemAccountError("username", "a name of 1 to 40 characters is needed")
    if db.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise SystemAccountError("username", "this name is already used")
    account = User(
        username=username,
        full_name=full_name or username,
        password_hash=NO_PASSWORD,
        role=Role.SYSTEM_ACCOUNT,
        institution_id=institution.id,
        sees_restricted_records=restricted_programs,
        active=True,
        created_at=now,
    )
    db.session.add(account)
    db.session.flush()
    audit.record(
        actor, now, "user", account.id, "CREATE",
        f"system account at institution {institution.id}" + (", PMTCT" if restricted_programs else ""),
    )  # fmt: skip
    return account


def issue_token(account: User, actor: Actor, now: dt.datetime) -> IssuedToken:
    """Make a new bearer token for a system account; the secret is returned once and only its hash kept."""
    if account.role is not Role.SYSTEM_ACCOUNT:
        raise SystemAccountError("username", "only a system account has API tokens")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        token_hash=token_hash(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        user_id=account.id,
        created_at=now,
        created_by=actor.username,
    )
    db.session.add(token)
    db.session.flush()
    audit.record(actor, now, "api_token", token.id, "CREATE", f"token {token.prefix}… for user {account.id}")
    return IssuedToken(token, secret)


def revoke_token(token: ApiToken, actor: Actor, now: dt.datetime) -> None:
    """Refuse this token from the next call on (revoking twice changes nothing)."""
    if token.revoked_at is not None:
        return
    token.revoked_at = now
    audit.record(
        actor, now, "api_token", token.id, "REVOKE", f"token {token.prefix}… of user {token.user_id}"
    )


def authenticate(secret: str, now: dt.datetime) -> User | None:
    """The active system account a bearer token belongs to, or None for an unknown or revoked token."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == token_hash(secret)))
    if token is None or token.revoked_at is not None:
        return None
    account = token.user
    if not account.active or account.role is not Role.SYSTEM_ACCOUNT:
        return None
    # Written at most once a minute per token, so that a busy integration does not write on every call.
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        token.last_used_at = now
    return account


def tokens_of(account: User) -> list[ApiToken]:
    return list(
        db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == account.id).order_by(ApiToken.id))
    )


def tokens_by_account(accounts: list[User]) -> dict[int, list[ApiToken]]:
    """Each account's tokens in issue order, read in one query for a page of accounts."""
    found: dict[int, list[ApiToken]] = {account.id: [] for account in accounts}
    if found:
        query = sa.select(ApiToken).where(ApiToken.user_id.in_(sorted(found))).order_by(ApiToken.id)
        for token in db.session.scalars(query):
            found[token.user_id].append(token)
    return found


# -- the `registry api-token` command ----------------------------------------------------------------


@click.group("api-token")
def api_token_command() -> None:
    """System accounts of lab and hospital systems, and their API tokens."""


@api_token_command.command("create")
@click.option("--account", "username", required=True, help="The system account's name (created if new).")
@click.option("--institution", "institution_code", help="Institution code (for a new account).")
@click.option("--full-name", default="", help="A readable name, e.g. the lab system's (for a new account).")
@click.option(
    "--pmtct", is_flag=True, help="The institution works on PMTCT: the account may send its results."
)
@with_appcontext
def create_token_command(username: str, institution_code: str | None, full_name: str, pmtct: bool) -> None:
    """Issue a token for a system account, creating the account first if it is new; the token shows once."""
    actor, now = Actor.system("api-token"), utc_now()
    account = db.session.scalar(sa.select(User).where(User.username == username))
    try:
        if account is None:
            if not institution_code:
                raise click.UsageError("a new system account needs --institution")
            institution = db.session.scalar(
                sa.select(Institution).where(Institution.code == institution_code)
            )
            if institution is None:
                raise click.UsageError(f"no institution with code {institution_code!r}")
            account = create_system_account(
                username, institution, actor, now, full_name=full_name, restricted_programs=pmtct
            )
            click.echo(
                f"created system account {username} at {institution.name}" + (" (PMTCT)" if pmtct else "")
            )
        elif institution_code or pmtct:
            raise click.UsageError("--institution and --pmtct apply to a new account only")
        issued = issue_token(account, actor, now)
    except SystemAccountError as error:
        raise click.UsageError(f"{error.field}: {error.message}") from None
    db.session.commit()
    click.echo(f"token {issued.token.id} ({issued.token.prefix}…), shown this once; keep it secret:")
    click.echo(issued.secret)


@api_token_command.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def revoke_token_command(token_id: int) -> None:
    """Revoke a token: the next call with it gets 401."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.UsageError(f"no token {token_id}")
    revoke_token(token, Actor.system("api-token"), utc_now())
    db.session.commit()
    click.echo(f"revoked token {token.id} ({token.prefix}…) of {token.user.username}")


@api_token_command.command("list")
@with_appcontext
def list_tokens_command() -> None:
    """List system accounts and their tokens (never the secrets)."""
    accounts = db.session.scalars(
        sa.select(User).where(User.role == Role.SYSTEM_ACCOUNT).order_by(User.username)
    )
    for account in accounts:
        state = "" if account.active else " (disabled)"
        pmtct = " PMTCT" if account.sees_restricted_records else ""
        click.echo(f"{account.username} at {account.institution.code}{pmtct}{state}")
        for token in tokens_of(account):
            revoked = f" revoked {token.revoked_at:%Y-%m-%d %H:%M}Z" if token.revoked_at else ""
            used = f" last used {token.last_used_at:%Y-%m-%d %H:%M}Z" if token.last_used_at else ""
            click.echo(
                f"  token {token.id} {token.prefix}… created {token.created_at:%Y-%m-%d}{used}{revoked}"
            )
