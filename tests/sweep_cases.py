"""A prepared set of cases the sweep tests share: one of each situation the daily sweep must tell apart.

Every baby is born at BIRTH0, 32 days before NOW; a referred hearing screen opens a case at RESCREEN, due at
42 days of age (2 December, 10:00 in Shanghai) and due soon from 20 % of its window before that.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from registry.audit import Actor
from registry.extensions import db
from registry.people.models import Person, PersonKind, Sex
from registry.people.services import pinyin_of
from screenings.cases import close_case, log_contact_attempt, open_exposed_infant, record_step
from screenings.engine import ClosureOutcome, ContactChannel, ContactOutcome
from screenings.models import CaseEvent, FollowUpCase
from screenings.programs import get_program
from screenings.results import record_result

D, H = dt.timedelta(days=1), dt.timedelta(hours=1)
NOW = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)
BIRTH0 = NOW - 32 * D
CLINIC = Actor(user_id=None, username="clinic-test")


def newborn(institution, name: str, born_at: dt.datetime, **more) -> Person:
    pinyin, initials = pinyin_of(name)
    person = Person(
        kind=PersonKind.NEWBORN,
        name=name,
        name_pinyin=pinyin,
        name_initials=initials,
        sex=Sex.MALE,
        birth_on=born_at.date(),
        birth_at=born_at,
        institution_id=institution.id,
        created_at=min(born_at + H, NOW),
        **more,
    )
    db.session.add(person)
    db.session.flush()
    return person


def referred_case(institution, name: str, **person) -> FollowUpCase:
    """A newborn whose initial hearing screen referred one ear: a case at RESCREEN."""
    baby = newborn(institution, name, BIRTH0, **person)
    values = {
        "screening_status": "DONE",
        "screened_at": (BIRTH0 + 50 * H).isoformat(),
        "method": "OAE",
        "left_ear": "REFER",
        "right_ear": "PASS",
    }
    return record_result(
        baby,
        "NEWBORN_HEARING",
        "INITIAL",
        values,
        institution,
        CLINIC,
        BIRTH0 + 3 * D,
        source_key=f"hear-{name}",
    ).case


def attempts(case: FollowUpCase, *tries: tuple[int, ContactChannel, ContactOutcome], automated=False) -> None:
    for day, channel, outcome in tries:
        at = BIRTH0 + day * D
        log_contact_attempt(case, channel, outcome, CLINIC, at, automated=automated)


def make_district() -> dict:
    """Institutions for tests that run outside the rolled-back session (worker processes)."""
    from registry.institutions import Institution, InstitutionKind

    city = Institution(code="C1", name="杭州市", kind=InstitutionKind.CITY)
    district = Institution(code="D1", name="西湖区", kind=InstitutionKind.DISTRICT, parent=city)
    hospital = Institution(
        code="H1",
        name="第一人民医院",
        kind=InstitutionKind.BIRTHING_HOSPITAL,
        parent=district,
        phone="0571-8888",
    )
    mch = Institution(code="M1", name="区妇幼保健院", kind=InstitutionKind.MCH_CENTRE, parent=district)
    db.session.add_all([city, district, hospital, mch])
    db.session.flush()
    return {"city": city, "district": district, "hospital": hospital, "mch": mch}


def clone_cases(templates: list[FollowUpCase], copies: int) -> list[int]:
    """Copy cases with all their events, `copies` times each, in a few statements; return the new ids."""
    cases, events = FollowUpCase.__table__, CaseEvent.__table__
    new_ids = []
    for template in templates:
        row = dict(db.session.execute(sa.select(cases).where(cases.c.id == template.id)).mappings().one())
        row.pop("id")
        ids = db.session.scalars(
            sa.insert(cases).returning(cases.c.id, sort_by_parameter_order=True), [row] * copies
        ).all()
        rows = [
            dict(r)
            for r in db.session.execute(sa.select(events).where(events.c.case_id == template.id)).mappings()
        ]
        for r in rows:
            r.pop("id")
        if rows:
            db.session.execute(
                sa.insert(events), [{**r, "case_id": case_id} for case_id in ids for r in rows]
            )
        new_ids.extend(ids)
    return new_ids


def prepare_cases(district) -> dict[str, FollowUpCase]:
    """Build the named cases (see each comment) and return them by name."""
    hospital = district["hospital"]
    phone, sms, visit = ContactChannel.PHONE, ContactChannel.SMS, ContactChannel.HOME_VISIT
    no_answer = ContactOutcome.NO_ANSWER
    cases = {}
    # A: nobody did anything.
    cases["A"] = referred_case(hospital, "甲宝")
    # B: three documented attempts over 15 days, one a home visit: lost to follow-up once overdue.
    cases["B"] = referred_case(hospital, "乙宝")
    attempts(cases["B"], (5, phone, no_answer), (12, sms, no_answer), (20, visit, no_answer))
    # C: as many attempts, but the family refused: never lost, so it escalates like A.
    cases["C"] = referred_case(hospital, "丙宝")
    attempts(cases["C"], (5, phone, no_answer), (12, visit, ContactOutcome.REFUSED), (20, phone, no_answer))
    # D: the baby died; the case is closed and the sweep never touches it.
    cases["D"] = referred_case(hospital, "丁宝")
    close_case(cases["D"], ClosureOutcome.DIED, CLINIC, BIRTH0 + 6 * D)
    # E: three automated SMS reminders and two documented attempts: not lost (reminders do not count).
    cases["E"] = referred_case(hospital, "戊宝")
    delivered = ContactOutcome.MESSAGE_DELIVERED
    attempts(cases["E"], (5, sms, delivered), (12, sms, delivered), (20, sms, delivered), automated=True)
    attempts(cases["E"], (13, visit, no_answer), (21, phone, no_answer))
    # F: a PMTCT exposed infant born an hour ago: hepatitis B immunoglobulin and vaccine due within 12 hours.
    hbv = get_program("PMTCT_HBV")
    infant = newborn(hospital, "己宝", NOW - H)
    cases["F"] = open_exposed_infant(infant, hbv, CLINIC, NOW)
    # G: an exposed infant born 17 days ago whose first doses were given: dose 2 is due at one month of age.
    older = newborn(hospital, "庚宝", NOW - 17 * D)
    cases["G"] = open_exposed_infant(older, hbv, CLINIC, NOW - 17 * D + H)
    record_step(cases["G"], "HBIG_AND_DOSE_1", "BOTH_GIVEN", CLINIC, NOW - 17 * D + 6 * H)
    db.session.flush()
    return cases


def names_by_status(cases: dict[str, FollowUpCase]) -> dict[str, set[str]]:
    """Read each case's status afresh and group the names by it."""
    by_id = {case.id: name for name, case in cases.items()}
    rows = db.session.execute(
        sa.select(FollowUpCase.id, FollowUpCase.status).where(FollowUpCase.id.in_(by_id))
    ).all()
    grouped: dict[str, set[str]] = {}
    for case_id, status in rows:
        grouped.setdefault(str(status), set()).add(by_id[case_id])
    return grouped


def event_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(CaseEvent))
