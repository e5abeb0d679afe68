"""An exposed infant's step decided from the mother's own record (syphilis prophylaxis, §6.4 row 7)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from registry.extensions import db
from screenings.cases.replay import event_fact
from screenings.engine import LOCAL_TZ, CaseReason, EventKind, MaternalDecision, Program
from screenings.models import CaseEvent, FollowUpCase


def maternal_decision(case: FollowUpCase, program: Program, step: str | None) -> MaternalDecision | None:
    """Return what the mother's record decides at this step of her infant's case, or None where nothing does.

    The mother's step results in the program, on every case of hers, are read in one query; an infant with
    no mother on record is decided as if she had no treatment (the safe side).
    """
    plan = program.exposed_infant
    if (
        plan is None
        or plan.maternal_rule is None
        or step != plan.maternal_step
        or case.reason is not CaseReason.EXPOSED_INFANT
    ):
        return None
    infant = case.person
    facts = []
    if infant.mother_id is not None:
        events = db.session.scalars(
            sa.select(CaseEvent)
            .join(FollowUpCase, CaseEvent.case_id == FollowUpCase.id)
            .where(
                FollowUpCase.person_id == infant.mother_id,
                FollowUpCase.program == program.code,
                CaseEvent.kind == EventKind.STEP_RESULT,
            )
            .order_by(CaseEvent.occurred_at, CaseEvent.id)
        )
        facts = [event_fact(event) for event in events]
    delivered_at = infant.birth_at or dt.datetime.combine(infant.birth_on, dt.time(23, 59), LOCAL_TZ)
    return plan.maternal_rule(facts, delivered_at.astimezone(dt.UTC), program.values(case.setting_overrides))
