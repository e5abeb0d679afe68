"""Screening results and follow-up work for the demo district, recorded through the real services."""

from __future__ import annotations

import datetime as dt
import random

import sqlalchemy as sa

from registry import clock
from registry.audit import Actor
from registry.clock import SHANGHAI
from registry.extensions import db
from registry.institutions import Institution
from registry.people.models import Person, PersonKind, Pregnancy
from screenings.cases import log_contact_attempt
from screenings.engine import ContactChannel, ContactOutcome
from screenings.models import FollowUpCase
from screenings.results import ResultRejected, record_result
from screenings.sweep import run_sweep


def _newborn_results(rng: random.Random, baby: Person) -> list[tuple[str, str, dict, dt.datetime]]:
    screened = baby.birth_at + dt.timedelta(hours=rng.randrange(48, 70))
    refer = rng.random() < 0.06
    hearing = {
        "screening_status": "DONE",
        "screened_at": screened.isoformat(),
        "method": "OAE",
        "left_ear": "REFER" if refer and rng.random() < 0.7 else "PASS",
        "right_ear": "REFER" if refer and rng.random() < 0.5 else "PASS",
    }
    if refer and hearing["left_ear"] == hearing["right_ear"] == "PASS":
        hearing["right_ear"] = "REFER"
    spo2 = "97" if rng.random() > 0.02 else "93"
    chd = {
        "screened_at": (screened - dt.timedelta(hours=30)).isoformat(),
        "murmur_grade": "0" if rng.random() > 0.01 else "3",
        "spo2_right_hand": spo2,
        "spo2_foot": spo2,
    }
    collected = baby.birth_at + dt.timedelta(hours=rng.randrange(72, 120))
    roll = rng.random()
    metabolic = {
        "collection_status": "COLLECTED",
        "collected_at": collected.isoformat(),
        "feeds_count": "8",
        "spot_count": "3",
        "specimen_quality": "SPOT_TOO_SMALL" if roll < 0.01 else "ADEQUATE",
        "key_info_complete": "true",
        "phe_umol_l": "260" if 0.01 <= roll < 0.015 else "75",
        "tsh_miu_l": "35" if 0.015 <= roll < 0.02 else "4.2",
    }
    return [
        ("NEWBORN_CHD", "SCREEN", chd, screened),
        ("NEWBORN_HEARING", "INITIAL", hearing, screened),
        ("NEWBORN_METABOLIC", "HEEL_BLOOD_SPOT", metabolic, collected + dt.timedelta(days=3)),
    ]


def _women_results(
    rng: random.Random, woman: Person, today: dt.date
) -> list[tuple[str, str, dict, dt.datetime]]:
    age = (today - woman.birth_on).days // 365
    found: list[tuple[str, str, dict, dt.datetime]] = []
    if 35 <= age <= 64 and rng.random() < 0.3:
        sampled = today - dt.timedelta(days=rng.randrange(10, 200))
        positive = rng.random() < 0.08
        types = rng.choice(["HPV16", "HPV18", "HPV31,HPV52", "HPV58"]) if positive else ""
        values = {"sampled_on": sampled.isoformat(), "hpv_result": "POSITIVE" if positive else "NEGATIVE",
                  "hpv_types": types}  # fmt: skip
        found.append(("CERVICAL_CANCER", "HPV", values, _noon(sampled + dt.timedelta(days=7))))
    if 35 <= age <= 64 and rng.random() < 0.2:
        examined = today - dt.timedelta(days=rng.randrange(10, 200))
        birads = rng.choices(["1", "2", "3", "0", "4A"], [60, 30, 6, 3, 1])[0]
        values = {"examined_on": examined.isoformat(), "birads_left": birads, "birads_right": "1"}
        found.append(("BREAST_CANCER", "ULTRASOUND", values, _noon(examined)))
    return found


def _pmtct_results(rng: random.Random, pregnancy: Pregnancy) -> list[tuple[str, str, dict, dt.datetime]]:
    tested = pregnancy.registered_on + dt.timedelta(days=rng.randrange(0, 20))
    common = {"tested_on": tested.isoformat(), "testing_stage": "PREGNANCY", "gestational_weeks": "11"}
    hbsag = "POSITIVE" if rng.random() < 0.06 else "NEGATIVE"
    return [
        ("PMTCT_HIV", "HIV_SCREEN", {**common, "screening_result": "NONREACTIVE"}, _noon(tested)),
        ("PMTCT_SYPHILIS", "SYPHILIS_SCREEN",
         {**common, "treponemal": "NEGATIVE", "non_treponemal": "NEGATIVE"}, _noon(tested)),
        ("PMTCT_HBV", "HBV_SCREEN", {**common, "hbsag": hbsag, "hbeag": "NOT_DONE"}, _noon(tested)),
    ]  # fmt: skip


def _noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), SHANGHAI).astimezone(dt.UTC)


def load_demo_screenings(seed: int = 2026, now: dt.datetime | None = None) -> dict:
    """Record a season of screening in the demo district, then some follow-up work on the cases it opened."""
    now = now or clock.now()
    today = now.astimezone(SHANGHAI).date()
    rng = random.Random(seed)
    actor = Actor.system("demo-data")
    institutions = {i.id: i for i in db.session.scalars(sa.select(Institution))}
    planned: list[tuple[Person, str, str, dict, dt.datetime]] = []
    for person in db.session.scalars(sa.select(Person).order_by(Person.id)):
        if person.kind is PersonKind.NEWBORN and person.birth_at is not None:
            planned += [(person, *item) for item in _newborn_results(rng, person)]
        elif person.kind is PersonKind.WOMAN:
            planned += [(person, *item) for item in _women_results(rng, person, today)]
    for pregnancy in db.session.scalars(sa.select(Pregnancy).order_by(Pregnancy.id)):
        planned += [(pregnancy.mother, *item) for item in _pmtct_results(rng, pregnancy)]
    recorded = 0
    for person, program, test, values, entered_at in planned:
        if entered_at > now:
            continue
        try:
            record_result(
                person, program, test, values, institutions[person.institution_id], actor, entered_at,
                source_system="DEMO", source_key=f"{program}:{test}:{person.id}",
            )  # fmt: skip
            recorded += 1
        except ResultRejected:
            continue  # a combination the rules refuse (e.g. a test date before the birth): skip it
    # Families are not always easy to reach: some calls and visits on the open cases.
    channels = [ContactChannel.PHONE, ContactChannel.SMS, ContactChannel.HOME_VISIT]
    for case in db.session.scalars(sa.select(FollowUpCase).where(FollowUpCase.due_at < now)):
        if rng.random() < 0.5:
            continue
        at = case.due_at
        for _ in range(rng.randrange(1, 4)):
            at += dt.timedelta(days=rng.randrange(2, 8))
            if at > now:
                break
            log_contact_attempt(
                case, rng.choice(channels), ContactOutcome.NO_ANSWER, actor, now, occurred_at=at
            )
    # The demo starts as a district that swept last night, not with statuses as old as each result.
    run_sweep(today, actor)
    db.session.commit()
    cases = db.session.scalar(sa.select(sa.func.count()).select_from(FollowUpCase))
    return {"results": recorded, "cases": cases}
