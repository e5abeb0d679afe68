"""Person and pregnancy records."""

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import UTCDateTime, str_enum
from registry.extensions import db
from registry.institutions import Institution


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
        sa.Index("ix_person_initials", "name_initials"),
        sa.Index("ix_person_mother_order", "mother_id", "birth_order"),
        # The sweep's missed-screening search: recent births.
        sa.Index("ix_person_kind_birth", "kind", "birth_on"),
        # Only one person per identity document: a partial unique index lets many people have none.
        sa.Index(
            "uq_person_id_document",
            "id_type",
            "id_number",
            unique=True,
            sqlite_where=sa.text("id_number IS NOT NULL"),
            postgresql_where=sa.text("id_number IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PersonKind] = mapped_column(str_enum(PersonKind))
    name: Mapped[str] = mapped_column(sa.String(100), index=True)
    name_pinyin: Mapped[str] = mapped_column(sa.String(200))
    name_initials: Mapped[str] = mapped_column(sa.String(50))
    sex: Mapped[Sex] = mapped_column(str_enum(Sex, 1))
    birth_on: Mapped[dt.date]
    birth_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    id_type: Mapped[IdDocumentType] = mapped_column(str_enum(IdDocumentType), default=IdDocumentType.NONE)
    id_number: Mapped[str | None] = mapped_column(sa.String(40))
    phone: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    phone_alt: Mapped[str | None] = mapped_column(sa.String(20))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    household: Mapped[Household] = mapped_column(str_enum(Household), default=Household.LOCAL)
    mother_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"))
    birth_order: Mapped[int | None]
    birth_certificate_number: Mapped[str | None] = mapped_column(sa.String(40))
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institution.id"), index=True)
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
