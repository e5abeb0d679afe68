"""Password hashing (argon2id) and the password policy."""

import functools
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile
MAX_LENGTH = 128


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Verifying against this when the username is unknown keeps the timing of both answers alike.
DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")


@functools.cache
def common_passwords() -> frozenset[str]:
    text = resources.files("registry").joinpath("data/common_passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def character_classes(password: str) -> int:
    return sum(
        [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )


def password_problems(password: str, username: str, min_length: int, required_classes: int) -> list[str]:
    """Why a new password is refused; an empty list means it is acceptable."""
    problems = []
    if len(password) < min_length:
        problems.append(_l("Must be at least %(n)d characters.", n=min_length))
    if len(password) > MAX_LENGTH:
        problems.append(_l("Must be at most %(n)d characters.", n=MAX_LENGTH))
    lowered = password.lower()
    if lowered in common_passwords() or (username and username.lower() in lowered):
        problems.append(_l("This password is too common or contains the username."))
    if required_classes and character_classes(password) < required_classes:
        problems.append(
            _l(
                "Must mix at least %(n)d of: lower case, upper case, digits, symbols.",
                n=required_classes,
            )
        )
    return [str(p) for p in problems]
