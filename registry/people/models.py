"""Person and pregnancy records."""

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from registry.db import UTCDateTime, str_enum
from registry.extensions import db
from registry.institutions import Institution
from registry.people.protection import EncryptedString, blind_index_of_document, blind_index_of_phone


class Sex(enum.StrEnum):
    FEMALE = "F"
    MALE = "M"
    UNKNOWN = "U"


class IdDocumentType(enum.StrEnum):
    RESIDENT_ID = "RESIDENT_ID"
    PASSPORT = "PASSPORT"
    HK_MACAO_PERMIT = "HK_MACAO_PERMIT"
    TAIWAN_PERMIT = "TAIWAN_PERMIT"
    FOREIGN_PERMANENT_RESIDENT = "FOREIGN_PERMANENT_RESIDENT"
    NONE = "NONE"


class Household(enum.StrEnum):
    LOCAL = "LOCAL"
    NON_LOCAL = "NON_LOCAL"


class PersonKind(enum.StrEnum):
    WOMAN = "WOMAN"
    NEWBORN = "NEWBORN"
    CHILD = "CHILD"
    OTHER = "OTHER"


class Person(db.Model):
    __tablename__ = "person"
    __table_args__ = (
        sa.Index("ix_person_pinyin_birth", "name_pinyin", "birth_on"),
        # Name search by prefix, and the import's match on name and birth date: with the date in the index a
        # chunk's look-up reads the few people born on its dates, not every 王静 of the city.
        sa.Index("ix_person_name_birth", "name", "birth_on"),
        sa.Index("ix_person_initials", "name_initials"),
        sa.Index("ix_person_mother_order", "mother_id", "birth_order"),
        # The sweep's missed-screening search: recent births.
        sa.Index("ix_person_kind_birth", "kind", "birth_on"),
        # An institution's people, newest first (a clinic's home page): ten rows read, not every person of a
        # busy centre sorted; the institution alone is served by the same index.
        sa.Index("ix_person_institution_recent", "institution_id", "created_at", "id"),
        # Only one person per identity document: a partial unique index lets many people have none.
        sa.Index(
            "uq_person_id_document",
            "id_type",
            "id_number_index",
            unique=True,
            sqlite_where=sa.text("id_number_index IS NOT NULL"),
            postgresql_where=sa.text("id_number_index IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PersonKind] = mapped_column(str_enum(PersonKind))
    name: Mapped[str] = mapped_column(sa.String(100))
    name_pinyin: Mapped[str] = mapped_column(sa.String(200))
    name_initials: Mapped[str] = mapped_column(sa.String(50))
    sex: Mapped[Sex] = mapped_column(str_enum(Sex, 1))
    birth_on: Mapped[dt.date]
    birth_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    id_type: Mapped[IdDocumentType] = mapped_column(str_enum(IdDocumentType), default=IdDocumentType.NONE)
    # Encrypted at rest; each has a keyed blind index for exact look-ups (registry/people/protection.py).
    id_number: Mapped[str | None] = mapped_column(EncryptedString())
    id_number_index: Mapped[str | None] = mapped_column(sa.String(64))
    phone: Mapped[str | None] = mapped_column(EncryptedString())
    phone_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    phone_alt: Mapped[str | None] = mapped_column(EncryptedString())
    phone_alt_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    address: Mapped[str | None] = mapped_column(sa.String(300))
    household: Mapped[Household] = mapped_column(str_enum(Household), default=Household.LOCAL)
    mother_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"))
    birth_order: Mapped[int | None]
    birth_certificate_number: Mapped[str | None] = mapped_column(sa.String(40))
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institution.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    # The family asked for no automated SMS reminders; staff still call, write and visit.
    reminder_opt_out: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Set when this record was merged into another (registry/people/merge/): the row stays, for the audit
    # trail and an undo, but search, duplicate checks and its page lead to the kept person instead.
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"))

    institution: Mapped[Institution] = relationship(lazy="joined")
    mother: Mapped["Person | None"] = relationship(
        remote_side=[id], back_populates="children", foreign_keys=[mother_id]
    )
    children: Mapped[list["Person"]] = relationship(
        back_populates="mother", order_by="Person.birth_order", foreign_keys=[mother_id]
    )
    pregnancies: Mapped[list["Pregnancy"]] = relationship(
        back_populates="mother", order_by="Pregnancy.registered_on.desc()"
    )

    @validates("id_number")
    def _index_document(self, _key: str, value: str | None) -> str | None:
        self.id_number_index = blind_index_of_document(value)
        return value

    @validates("phone", "phone_alt")
    def _index_phone(self, key: str, value: str | None) -> str | None:
        setattr(self, f"{key}_index", blind_index_of_phone(value))
        return value


class Pregnancy(db.Model):
    """A pregnancy registered for a woman (孕产期保健登记), the anchor of her PMTCT testing."""

    __tablename__ = "pregnancy"

    id: Mapped[int] = mapped_column(primary_key=True)
    mother_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    registered_on: Mapped[dt.date]
    last_menstrual_period_on: Mapped[dt.date | None]
    expected_delivery_on: Mapped[dt.date]
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institution.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    mother: Mapped[Person] = relationship(back_populates="pregnancies")
    institution: Mapped[Institution] = relationship()
