"""Screening results, follow-up cases and their append-only events.

A case row's state columns (current_step, status, due_at, ...) are a cache of what the engine derives
from the case's events: every service that appends an event rewrites them from `derive_case_state`, so
the worklist and the sweep read indexed columns and never replay.
"""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import UTCDateTime, str_enum
from registry.extensions import db
from registry.institutions import Institution
from registry.people.models import Person
from screenings.engine import (
    CaseReason,
    CaseStatus,
    ClosureOutcome,
    ContactChannel,
    ContactOutcome,
    EventKind,
    SubjectKind,
)

_NOT_CLOSED = sa.text("status <> 'CLOSED'")


class ScreeningResult(db.Model):
    """One test done on one person, stored once per source record."""

    __tablename__ = "screening_result"
    __table_args__ = (
        sa.UniqueConstraint("source_system", "source_key", name="uq_screening_result_source"),
        sa.Index("ix_screening_result_person_program", "person_id", "program", "performed_at"),
        sa.Index("ix_screening_result_institution_performed", "institution_id", "performed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program: Mapped[str] = mapped_column(sa.String(32))
    test: Mapped[str] = mapped_column(sa.String(32))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"))
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institution.id"))
    performed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    measured_values: Mapped[dict] = mapped_column(sa.JSON)
    result_code: Mapped[str] = mapped_column(sa.String(40))
    findings: Mapped[list] = mapped_column(sa.JSON, default=list)
    rule_version: Mapped[str] = mapped_column(sa.String(40))
    exposes_infant: Mapped[bool] = mapped_column(default=False)
    # Where the record came from: a form ("WEB"), an API client or an instrument file, and its own key
    # there; the pair is unique, so the same record sent twice is stored once.
    source_system: Mapped[str] = mapped_column(sa.String(40))
    source_key: Mapped[str] = mapped_column(sa.String(120))
    entered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    person: Mapped[Person] = relationship()
    institution: Mapped[Institution] = relationship()


class FollowUpCase(db.Model):
    """A positive, referred or unsatisfactory result, a missed screen or an exposed infant, followed up."""

    __tablename__ = "follow_up_case"
    __table_args__ = (
        # The worklist: open cases of an institution by due date. Partial, so closed cases cost nothing;
        # escalated_at and status ride along so the tab counts are read from the index alone.
        sa.Index(
            "ix_follow_up_case_worklist",
            "responsible_institution_id",
            "due_at",
            "id",
            "escalated_at",
            "status",
            sqlite_where=_NOT_CLOSED,
            postgresql_where=_NOT_CLOSED,
        ),
        # The sweep: every open case by due date, whatever its institution.
        sa.Index(
            "ix_follow_up_case_open_due",
            "due_at",
            "id",
            sqlite_where=_NOT_CLOSED,
            postgresql_where=_NOT_CLOSED,
        ),
        sa.Index(
            "ix_follow_up_case_worklist_risk",
            "responsible_institution_id",
            "risk_rank",
            "due_at",
            "id",
            sqlite_where=_NOT_CLOSED,
            postgresql_where=_NOT_CLOSED,
        ),
        sa.Index(
            "ix_follow_up_case_transfer_to",
            "transfer_to_institution_id",
            sqlite_where=sa.text("transfer_to_institution_id IS NOT NULL"),
            postgresql_where=sa.text("transfer_to_institution_id IS NOT NULL"),
        ),
        sa.Index("ix_follow_up_case_person_program", "person_id", "program"),
        sa.Index("ix_follow_up_case_program_opened", "program", "opened_at"),
        # A missed screen or an exposed infant is opened by a sweep or a signal that may run twice.
        sa.Index(
            "uq_follow_up_case_once",
            "person_id",
            "program",
            "reason",
            unique=True,
            sqlite_where=sa.text("reason IN ('MISSED_SCREENING', 'EXPOSED_INFANT')"),
            postgresql_where=sa.text("reason IN ('MISSED_SCREENING', 'EXPOSED_INFANT')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program: Mapped[str] = mapped_column(sa.String(32))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"))
    reason: Mapped[CaseReason] = mapped_column(str_enum(CaseReason))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    opening_result_id: Mapped[int | None] = mapped_column(sa.ForeignKey("screening_result.id"))
    opening_result_code: Mapped[str | None] = mapped_column(sa.String(40))
    first_step: Mapped[str] = mapped_column(sa.String(40))
    opening_track: Mapped[str | None] = mapped_column(sa.String(40))
    scheduled_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The subject as the opening result saw it: rules read these, and the person's row may change later.
    subject_kind: Mapped[SubjectKind] = mapped_column(str_enum(SubjectKind))
    # What the opening result told of the subject, by trait name; only the program's own rules read it.
    subject_traits: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")
    # The district's setting overrides in force when the case was opened (name -> value as stored), and
    # the last district_setting_change row they came from: the case's rules read these all its life.
    setting_overrides: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")
    settings_version: Mapped[int | None] = mapped_column(sa.Integer)

    # Derived from the events by the engine; rewritten by every service and by the sweep.
    status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus))
    current_step: Mapped[str | None] = mapped_column(sa.String(40))
    track: Mapped[str | None] = mapped_column(sa.String(40))
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    warn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    due_set_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    rule_version: Mapped[str] = mapped_column(sa.String(40))
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    contact_attempts: Mapped[int] = mapped_column(default=0)
    # The worklist's "by risk" order: 0 escalated, then by why the case exists (see services.risk_rank).
    risk_rank: Mapped[int] = mapped_column(sa.SmallInteger, default=5)
    outcome: Mapped[ClosureOutcome | None] = mapped_column(str_enum(ClosureOutcome))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    state_as_of: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    opening_institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institution.id"))
    # Derived too: the opener, then the receiver of each accepted transfer.
    responsible_institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institution.id"))
    transfer_to_institution_id: Mapped[int | None] = mapped_column(sa.ForeignKey("institution.id"))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    person: Mapped[Person] = relationship()
    opening_institution: Mapped[Institution] = relationship(foreign_keys=[opening_institution_id])
    responsible_institution: Mapped[Institution] = relationship(foreign_keys=[responsible_institution_id])
    transfer_to_institution: Mapped[Institution | None] = relationship(
        foreign_keys=[transfer_to_institution_id]
    )
    opening_result: Mapped[ScreeningResult | None] = relationship()
    events: Mapped[list["CaseEvent"]] = relationship(
        back_populates="case", order_by="(CaseEvent.occurred_at, CaseEvent.id)", viewonly=True
    )


class CaseEvent(db.Model):
    """One thing that happened to a case. Never updated or deleted: corrections are new events."""

    __tablename__ = "case_event"
    __table_args__ = (
        sa.Index("ix_case_event_case", "case_id", "occurred_at"),
        # One reminder per case, step, kind and day, even with two workers sending at once.
        sa.Index(
            "uq_case_event_reminder",
            "case_id",
            "dedupe_key",
            unique=True,
            sqlite_where=sa.text("dedupe_key IS NOT NULL"),
            postgresql_where=sa.text("dedupe_key IS NOT NULL"),
        ),
        # The case a result opened or moved on (the API's person and submission answers).
        sa.Index(
            "ix_case_event_result",
            "result_id",
            sqlite_where=sa.text("result_id IS NOT NULL"),
            postgresql_where=sa.text("result_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("follow_up_case.id"))
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    recorded_by_name: Mapped[str] = mapped_column(sa.String(80))
    institution_id: Mapped[int | None] = mapped_column(sa.ForeignKey("institution.id"))
    step: Mapped[str | None] = mapped_column(sa.String(40))
    result_code: Mapped[str | None] = mapped_column(sa.String(40))
    result_id: Mapped[int | None] = mapped_column(sa.ForeignKey("screening_result.id"))
    outcome: Mapped[ClosureOutcome | None] = mapped_column(str_enum(ClosureOutcome))
    channel: Mapped[ContactChannel | None] = mapped_column(str_enum(ContactChannel))
    reached: Mapped[bool | None]
    person_reached: Mapped[str | None] = mapped_column(sa.String(100))
    relationship_to_subject: Mapped[str | None] = mapped_column(sa.String(40))
    contact_outcome: Mapped[ContactOutcome | None] = mapped_column(str_enum(ContactOutcome))
    next_appointment_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(sa.Text)
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    rule_version: Mapped[str] = mapped_column(sa.String(40))
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(120))

    case: Mapped[FollowUpCase] = relationship(back_populates="events")
    recorded_by_institution: Mapped[Institution | None] = relationship()
