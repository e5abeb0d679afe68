"""Identity-document and phone numbers encrypted at rest, found again through a keyed blind index.

A stolen database file or dump holds no readable ID or phone number: each value is stored encrypted with
AES-256-GCM under a fresh nonce (so equal numbers give unequal ciphertexts), and beside it an HMAC-SHA256 of
its canonical form (the blind index) serves exact look-ups, the duplicate check and the one-person-per-
document unique index. Both keys are derived from one secret that lives outside the database: the
FIELD_ENCRYPTION_KEY environment variable, or instance/field_key on the embedded defaults. Without that
secret a backup cannot be read, so it is backed up separately (README, "Backups").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "v1:"
NONCE_BYTES = 12
# Binds each ciphertext to its purpose: a value cut from one column cannot be pasted into another kind.
ASSOCIATED_DATA = b"registry.person"


class FieldKeyError(RuntimeError):
    """The field-encryption secret is missing, malformed, or not the one the data was written with."""


@dataclass(frozen=True)
class FieldKeys:
    encryption: bytes
    index: bytes

    @classmethod
    def from_secret(cls, secret: str) -> FieldKeys:
        """Derive the two keys from the configured secret (64 hex digits or url-safe base64 of 32 bytes)."""
        master = _decode_secret(secret)

        def derive(purpose: bytes) -> bytes:
            return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)

        return cls(encryption=derive(b"registry field encryption"), index=derive(b"registry blind index"))

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.encryption).encrypt(nonce, plaintext.encode(), ASSOCIATED_DATA)
        return PREFIX + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            raise FieldKeyError("a protected column holds a value that was never encrypted")
        raw = base64.b64decode(stored[len(PREFIX) :])
        try:
            return (
                AESGCM(self.encryption)
                .decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], ASSOCIATED_DATA)
                .decode()
            )
        except Exception as error:  # InvalidTag: another key, or a changed value
            raise FieldKeyError(
                "FIELD_ENCRYPTION_KEY is not the key these numbers were encrypted with"
            ) from error

    def blind_index(self, canonical: str) -> str:
        return hmac.new(self.index, canonical.encode(), hashlib.sha256).hexdigest()

    def document_index(self, number: str | None) -> str | None:
        """The blind index of an identity-document number in its canonical form (full-width digits folded)."""
        from registry.people.idnumbers import normalise

        canonical = normalise(number) if number else ""
        return self.blind_index(f"id:{canonical}") if canonical else None

    def phone_index(self, number: str | None) -> str | None:
        from registry.people.idnumbers import normalise_phone

        canonical = normalise_phone(number) if number else None
        return self.blind_index(f"phone:{canonical}") if canonical else None


def _decode_secret(secret: str) -> bytes:
    text = (secret or "").strip()
    try:
        master = (
            bytes.fromhex(text)
            if len(text) == 64
            else base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        )
    except ValueError:
        master = b""
    if len(master) != 32:
        raise FieldKeyError("FIELD_ENCRYPTION_KEY must be 32 random bytes: 64 hex digits or url-safe base64")
    return master


def current_keys() -> FieldKeys:
    from flask import current_app

    keys = current_app.extensions.get("field_keys")
    if keys is None:
        keys = current_app.extensions["field_keys"] = FieldKeys.from_secret(
            current_app.config["FIELD_ENCRYPTION_KEY"]
        )
    return keys


def blind_index_of_document(number: str | None) -> str | None:
    return current_keys().document_index(number)


def blind_index_of_phone(number: str | None) -> str | None:
    return current_keys().phone_index(number)


class EncryptedString(sa.types.TypeDecorator):
    """A text column written encrypted and read back decrypted with the application's field keys.

    Comparing it with a value is refused: the ciphertext differs on every write, so `column == number`
    would silently match nothing. Look-ups compare the column's blind index instead.
    """

    impl = sa.Text
    cache_ok = True

    class comparator_factory(sa.Text.Comparator):  # noqa: N801 - the name SQLAlchemy looks up
        def operate(self, op, *other, **kwargs):
            if op not in (sa.sql.operators.is_, sa.sql.operators.is_not):
                raise TypeError("an encrypted column cannot be compared; compare its blind index (*_index)")
            return super().operate(op, *other, **kwargs)

    def process_bind_param(self, value, dialect):
        return None if value is None else current_keys().encrypt(str(value))

    def process_result_value(self, value, dialect):
        return None if value is None else current_keys().decrypt(value)
