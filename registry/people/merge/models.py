"""The records of merges and of pairs found to be different people, and the reasons a pair is suspected."""

import dataclasses
import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import UTCDateTime
from registry.extensions import db
from registry.people.models import Person


class DuplicateReason(enum.StrEnum):
    SAME_DOCUMENT = "SAME_DOCUMENT"
    SAME_NAME_AND_BIRTH_DATE = "SAME_NAME_AND_BIRTH_DATE"
    SAME_MOTHER_AND_BIRTH_ORDER = "SAME_MOTHER_AND_BIRTH_ORDER"
    SAME_MOTHER_AND_BIRTH_DATE = "SAME_MOTHER_AND_BIRTH_DATE"


# Strongest first: a shared identity document says more than a shared name.
REASON_ORDER = list(DuplicateReason)


class PersonMerge(db.Model):
    """One merge of a removed person into a kept one: who, when, why, and exactly which rows moved."""

    __tablename__ = "person_merge"

    id: Mapped[int] = mapped_column(primary_key=True)
    kept_person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    removed_person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    merged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    merged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    merged_by_name: Mapped[str] = mapped_column(sa.String(80))
    # {"table.column": [row id, ...]}: the rows moved to the kept person, which an undo moves back.
    moved_rows: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # Rows that stayed with the removed person because the kept person already had the one allowed.
    left_rows: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    undone_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    undone_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    undone_by_name: Mapped[str | None] = mapped_column(sa.String(80))
    undo_reason: Mapped[str | None] = mapped_column(sa.Text)

    kept_person: Mapped[Person] = relationship(foreign_keys=[kept_person_id])
    removed_person: Mapped[Person] = relationship(foreign_keys=[removed_person_id])

    @property
    def moved_count(self) -> int:
        return sum(len(ids) for ids in (self.moved_rows or {}).values())


class DistinctPeople(db.Model):
    """Two people a user checked and found to be different (twins, namesakes): no longer suggested."""

    __tablename__ = "person_distinct_pair"
    __table_args__ = (
        sa.UniqueConstraint("first_person_id", "second_person_id"),
        sa.CheckConstraint("first_person_id < second_person_id", name="ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"))
    second_person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    decided_by_name: Mapped[str] = mapped_column(sa.String(80))


class MergeRefused(Exception):
    """A merge, undo or distinct mark that cannot be done; `code` names the reason for the edge to show."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclasses.dataclass(frozen=True)
class SuspectedPair:
    first: Person  # the one registered first (lower id)
    second: Person
    reasons: tuple[DuplicateReason, ...]
