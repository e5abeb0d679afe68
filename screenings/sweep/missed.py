"""Missed screenings (漏筛): recent births past a program's window with no screen and no case."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from registry.audit import Actor
from registry.extensions import db
from registry.people.models import Person
from screenings.cases import person_kinds_screened, subject_kind_for, subject_of
from screenings.cases.openings import open_missed_screening_cases
from screenings.district_settings import DistrictSettings, for_program, settings_for_institution
from screenings.engine import (
    is_screening_missed,
)
from screenings.models import FollowUpCase, ScreeningResult
from screenings.programs import PROGRAMS
from screenings.sweep.report import Batches, local_today

# Births further back than this are not searched for a missed screen: every window is days long, and a
# sweep that was down for weeks is caught up by this margin.
DEFAULT_MISSED_LOOKBACK_DAYS = 60


def open_missed_screenings(
    moment: dt.datetime, actor: Actor, batch_size: int, lookback_days: int, batches: Batches
) -> int:
    """Open a "missed screening" case for each recent birth past a newborn program's window with no screen.

    The window is the one in force in the district of the person's institution (read once per institution).
    """
    today = local_today(moment)
    in_force: dict[int, DistrictSettings] = {}
    earliest = today - dt.timedelta(days=lookback_days)
    opened = 0
    for program in PROGRAMS.values():
        if program.screening_window is None:
            continue
        # Who the program screens is its eligibility's to say, not the sweep's.
        kinds = person_kinds_screened(program)
        if not kinds:
            continue
        last_id = 0
        while True:
            screened = sa.exists().where(
                ScreeningResult.person_id == Person.id, ScreeningResult.program == program.code
            )
            has_case = sa.exists().where(
                FollowUpCase.person_id == Person.id, FollowUpCase.program == program.code
            )
            people = db.session.scalars(
                sa.select(Person)
                .where(
                    Person.kind.in_(kinds),
                    # A record merged into another is no longer a person of its own; the kept one is searched.
                    Person.merged_into_id.is_(None),
                    Person.birth_on >= earliest,
                    Person.birth_on <= today,
                    Person.id > last_id,
                    ~screened,
                    ~has_case,
                )
                .order_by(Person.id)
                .limit(batch_size)
            ).all()
            if not people:
                break
            last_id = people[-1].id
            missed = []
            for person in people:
                subject = subject_of(person, subject_kind_for(person, program))
                if person.institution_id not in in_force:
                    in_force[person.institution_id] = settings_for_institution(person.institution, moment)
                settings = in_force[person.institution_id]
                if is_screening_missed(program, subject, moment, for_program(settings, program.code)):
                    missed.append((person, settings))
            # Opened in bulk by the case writer, each as open_missed_screening would open it alone.
            opened += len(open_missed_screening_cases(program, missed, actor, moment))
            batches.done()
    return opened
