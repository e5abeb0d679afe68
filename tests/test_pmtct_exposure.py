"""PMTCT: "this mother is positive" opens the infant's plan whichever way it became true (§6.3–6.4)."""

import datetime as dt

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.audit import Actor
from registry.extensions import db
from registry.people.models import PersonKind, Sex
from registry.people.services import PersonDraft, register_person
from screenings.cases import record_step
from screenings.cases.openings import open_case_for
from screenings.engine import CaseReason
from screenings.models import FollowUpCase
from screenings.programs import get_program
from screenings.results import record_result

D, H = dt.timedelta(days=1), dt.timedelta(hours=1)
T0 = dt.datetime(2026, 9, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
CLINIC = Actor(user_id=None, username="clinic-test")
HIV, SYPHILIS = get_program("PMTCT_HIV"), get_program("PMTCT_SYPHILIS")


def hiv(mother, district, at: dt.datetime, confirmatory=None, key=None):
    values = {
        "tested_on": at.date().isoformat(),
        "testing_stage": "PREGNANCY",
        "gestational_weeks": "30",
        "screening_result": "REACTIVE",
        "confirmatory_result": confirmatory,
    }
    return record_result(mother, "PMTCT_HIV", "HIV_SCREEN", values, district["mch"], CLINIC, at + D,
                         source_key=key)  # fmt: skip


def syphilis(mother, district, at: dt.datetime, treponemal="POSITIVE", non_treponemal="NEGATIVE"):
    values = {
        "tested_on": at.date().isoformat(),
        "testing_stage": "PREGNANCY",
        "gestational_weeks": "30",
        "treponemal": treponemal,
        "non_treponemal": non_treponemal,
        "titre": "8" if non_treponemal == "POSITIVE" else None,
    }
    return record_result(mother, "PMTCT_SYPHILIS", "SYPHILIS_SCREEN", values, district["mch"], CLINIC, at + D)


def born(mother, district, at: dt.datetime):
    draft = PersonDraft(
        kind=PersonKind.NEWBORN, name="孙小宝", sex=Sex.FEMALE, birth_on=at.date(), birth_at=at,
        institution_id=district["hospital"].id, mother_id=mother.id, birth_order=1,
    )  # fmt: skip
    return register_person(draft, CLINIC, at + H)


def infant_cases(infant, program=None):
    query = sa.select(FollowUpCase).where(
        FollowUpCase.person_id == infant.id, FollowUpCase.reason == CaseReason.EXPOSED_INFANT
    )
    if program is not None:
        query = query.where(FollowUpCase.program == program.code)
    return db.session.scalars(query).all()


def test_a_confirmatory_result_arriving_later_moves_the_case_to_the_case_card(district, make_person):
    mother = make_person(district["hospital"], name="孙丽")
    reactive = hiv(mother, district, T0)
    assert reactive.case.current_step == "CONFIRMATION"
    confirmed = hiv(mother, district, T0 + 3 * D, "POSITIVE")
    assert confirmed.case_advanced and confirmed.case.id == reactive.case.id
    assert confirmed.case.current_step == "CASE_REPORT"
    # due 5 days after the confirmatory result (§6.3 row 2, [S36])
    assert confirmed.case.due_at == confirmed.result.performed_at + 5 * D


@pytest.mark.parametrize(
    ("path", "program", "first_step", "due_after_birth"),
    [
        ("hiv-later-result", HIV, "INFANT_ARV", 6 * H),  # ARV ≤6 h after birth (§6.3 row 4)
        ("hiv-step", HIV, "INFANT_ARV", 6 * H),
        ("syphilis-step", SYPHILIS, "BIRTH_ASSESSMENT", 24 * H),  # birth titre and prophylaxis (§6.4)
        ("syphilis-review", SYPHILIS, "BIRTH_ASSESSMENT", 24 * H),
    ],
)
@pytest.mark.parametrize("baby_first", [True, False], ids=["born-before", "born-after"])
def test_every_path_into_the_mothers_positivity_opens_the_infants_plan(
    district, make_person, path, program, first_step, due_after_birth, baby_first
):
    mother = make_person(district["hospital"], name="孙芳")
    birth = T0 + 2 * D
    infant = born(mother, district, birth) if baby_first else None
    if program is HIV:
        hiv(mother, district, T0)
        if path == "hiv-later-result":
            hiv(mother, district, T0 + 3 * D, "POSITIVE")
        else:
            record_step(open_case_for(mother, HIV), "CONFIRMATION", "CONFIRMED_POS", CLINIC,
                        T0 + 4 * D, occurred_at=T0 + 3 * D)  # fmt: skip
    elif path == "syphilis-step":
        syphilis(mother, district, T0, non_treponemal="NOT_DONE")
        record_step(open_case_for(mother, SYPHILIS), "CONFIRMATION", "CURRENT", CLINIC,
                    T0 + 4 * D, occurred_at=T0 + 3 * D)  # fmt: skip
    else:
        syphilis(mother, district, T0)  # TP+/NT−: clinical review
        case = open_case_for(mother, SYPHILIS)
        assert case.current_step == "CLINICAL_REVIEW"
        record_step(case, "CLINICAL_REVIEW", "TREATMENT_INDICATED", CLINIC, T0 + 4 * D,
                    occurred_at=T0 + 3 * D)  # fmt: skip
    if infant is None:
        infant = born(mother, district, birth + 5 * D)
        birth = birth + 5 * D
    (case,) = infant_cases(infant)
    assert (case.program, case.current_step) == (program.code, first_step)
    assert case.due_at == birth + due_after_birth


def test_a_mother_not_confirmed_gives_her_baby_no_plan(district, make_person):
    mother = make_person(district["hospital"], name="周丽")
    hiv(mother, district, T0)
    record_step(open_case_for(mother, HIV), "CONFIRMATION", "NEGATIVE", CLINIC, T0 + 4 * D)
    assert infant_cases(born(mother, district, T0 + 5 * D)) == []


MOVES = st.permutations(["reactive", "confirm_result", "confirm_step", "syph_single", "syph_review", "birth"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=MOVES, keep=st.lists(st.booleans(), min_size=6, max_size=6))
def test_any_order_leaves_exactly_one_exposed_infant_case_per_program(district, make_person, moves, keep):
    mother = make_person(district["hospital"], name="吴芳")
    infant, positive = None, set()
    for index, (move, kept) in enumerate(zip(moves, keep, strict=True)):
        at = T0 + index * D
        if not kept and move != "birth":
            continue
        if move == "reactive":
            hiv(mother, district, at)
        elif move == "confirm_result":
            hiv(mother, district, at, "POSITIVE")
            positive.add(HIV.code)
        elif move == "confirm_step":
            case = open_case_for(mother, HIV)
            if case is not None and case.current_step == "CONFIRMATION":
                record_step(case, "CONFIRMATION", "CONFIRMED_POS", CLINIC, at + H, occurred_at=at)
                positive.add(HIV.code)
        elif move == "syph_single":
            syphilis(mother, district, at)
        elif move == "syph_review":
            case = open_case_for(mother, SYPHILIS)
            if case is not None and case.current_step == "CLINICAL_REVIEW":
                record_step(case, "CLINICAL_REVIEW", "TREATMENT_INDICATED", CLINIC, at + H, occurred_at=at)
                positive.add(SYPHILIS.code)
        else:
            infant = born(mother, district, at)
    for program in (HIV, SYPHILIS):
        expected = 1 if program.code in positive else 0
        assert len(infant_cases(infant, program)) == expected, (program.code, moves, keep)
