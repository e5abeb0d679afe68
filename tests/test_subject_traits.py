"""Subject traits are program data: a tenth program's own trait reaches its rules and its cases untouched.

The program below is made up (a jaundice screen whose pathway depends on gestational age). It is
declared here, in the engine's vocabulary only, and registered in PROGRAMS for the test; nothing else in
the house learns about it, yet its trait is carried onto the Subject, read by its rules and stored on
the case.
"""

import datetime as dt
from collections.abc import Mapping

import pytest

from registry.audit import Actor
from registry.people.models import PersonKind, Sex
from screenings import programs
from screenings.cases import case_subject, record_step
from screenings.engine import (
    CaseReason,
    Choice,
    ClosureOutcome,
    Eligibility,
    Field,
    FieldKind,
    Program,
    ResultCode,
    ScreeningTest,
    SettingBook,
    SettingValues,
    Step,
    StepKind,
    Subject,
    SubjectKind,
    SubjectTrait,
    Traits,
    Verdict,
    check_program,
    classify,
    close,
    goto,
    open_case,
    within,
)
from screenings.engine.times import local_date
from screenings.programs._common import standard_policies
from screenings.results import record_result

CODE = "NEWBORN_JAUNDICE"
GESTATIONAL_AGE = "GESTATIONAL_AGE_WEEKS"
BIRTH = dt.datetime(2026, 8, 1, 1, 0, tzinfo=dt.UTC)
CLINIC = Actor(user_id=None, username="clinic-test")
DAY = dt.timedelta(days=1)

_S = SettingBook(CODE)
_RECHECK_DAYS = _S.add("RECHECK_DAYS", 2, "P", "made up for the test", "days")
_REVIEW_DAYS = _S.add("REVIEW_DAYS", 7, "P", "made up for the test", "days")
_WARN, _ESCALATE, _LTFU = standard_policies(_S)


def preterm(subject: Subject) -> bool:
    """Tell whether the baby was born before 37 weeks, as the screen recorded it."""
    weeks = subject.traits.get(GESTATIONAL_AGE)
    return isinstance(weeks, int) and weeks < 37


def _classify(values: Mapping[str, object], subject: Subject, settings: SettingValues) -> Verdict:
    if values["bilirubin"] == "HIGH":
        return Verdict("HIGH")
    if preterm(subject):
        # a preterm baby's normal reading is checked again all the same
        return Verdict("NORMAL", case_reason=CaseReason.HIGH_RISK_SURVEILLANCE, first_step="RECHECK")
    return Verdict("NORMAL")


SCREEN = ScreeningTest(
    "SCREEN",
    "黄疸筛查",
    "Jaundice screen",
    (
        Field("screened_at", FieldKind.DATETIME, "筛查时间", "Screening time"),
        Field(
            "bilirubin",
            FieldKind.CHOICE,
            "胆红素",
            "Bilirubin",
            choices=(Choice("NORMAL", "正常", "Normal"), Choice("HIGH", "偏高", "High")),
        ),
        Field(
            "gestational_age",
            FieldKind.INTEGER,
            "胎龄",
            "Gestational age",
            unit="weeks",
            min_value=22,
            max_value=44,
            required=False,
        ),
    ),
    (
        ResultCode("NORMAL", "正常", "Normal"),
        ResultCode("HIGH", "偏高", "High", True, CaseReason.REFERRED_RESULT, "RECHECK"),
    ),
    _classify,
    performed_field="screened_at",
    subject_traits=(SubjectTrait(GESTATIONAL_AGE, "胎龄(周)", "Gestational age (weeks)", "gestational_age"),),
)
STEPS = (
    Step("RECHECK", "复查", "Recheck", StepKind.RESCREEN, within(_RECHECK_DAYS), (
        goto("NORMAL", "正常", "Normal", "REVIEW", when=preterm),
        close("NORMAL", "正常", "Normal", ClosureOutcome.RESCREEN_NORMAL),
        goto("HIGH", "偏高", "High", "REVIEW"),
    )),
    Step("REVIEW", "儿科评估", "Paediatric review", StepKind.DIAGNOSIS, within(_REVIEW_DAYS), (
        close("NORMAL", "正常", "Normal", ClosureOutcome.NOT_CONFIRMED),
        close("TREATED", "已光疗", "Phototherapy given", ClosureOutcome.CONFIRMED_TREATED),
    )),
)  # fmt: skip
JAUNDICE = Program(
    code=CODE,
    zh="新生儿黄疸筛查",
    en="Newborn jaundice screening",
    rule_version=f"{CODE}/test",
    eligibility=Eligibility((SubjectKind.NEWBORN,)),
    tests=(SCREEN,),
    steps=STEPS,
    ltfu_policy=_LTFU,
    warn_fraction=_WARN,
    escalate_after_days=_ESCALATE,
    indicators=(),
    settings=_S.freeze(),
)


def screen(bilirubin: str = "HIGH", **more: object) -> dict:
    return {"screened_at": (BIRTH + dt.timedelta(hours=60)).isoformat(), "bilirubin": bilirubin, **more}


def newborn() -> Subject:
    return Subject(SubjectKind.NEWBORN, Sex.FEMALE, BIRTH, local_date(BIRTH))


@pytest.fixture
def jaundice(monkeypatch):
    monkeypatch.setitem(programs.PROGRAMS, CODE, JAUNDICE)
    return JAUNDICE


def test_the_made_up_program_is_a_sound_declaration():
    assert check_program(JAUNDICE) == []
    assert JAUNDICE.subject_traits[GESTATIONAL_AGE].en == "Gestational age (weeks)"


def test_the_engine_carries_the_declared_trait_onto_the_subject_its_rules_read():
    classification = classify(JAUNDICE, "SCREEN", screen("NORMAL", gestational_age="34"), newborn())
    assert classification.traits == {GESTATIONAL_AGE: 34}
    assert (classification.opens_case, classification.first_step) == (True, "RECHECK")
    opened = open_case(classification, newborn().told(classification.traits), BIRTH)
    assert opened.subject.traits == Traits({GESTATIONAL_AGE: 34})
    assert not classify(JAUNDICE, "SCREEN", screen("NORMAL", gestational_age="39"), newborn()).opens_case


def test_a_value_left_out_tells_nothing_and_keeps_what_was_told_before():
    told_before = newborn().told({GESTATIONAL_AGE: 34})
    classification = classify(JAUNDICE, "SCREEN", screen("NORMAL"), told_before)
    assert classification.traits == {}
    assert classification.opens_case


def test_a_subject_with_traits_stays_hashable_and_equal_by_value():
    one, other = newborn().told({GESTATIONAL_AGE: 34}), newborn().told({GESTATIONAL_AGE: 34})
    assert one == other and hash(one) == hash(other)
    assert one.traits.as_json() == {GESTATIONAL_AGE: 34}
    with pytest.raises(TypeError):
        Traits({GESTATIONAL_AGE: object()})


@pytest.fixture
def baby(district, make_person):
    return make_person(
        district["hospital"], kind=PersonKind.NEWBORN, sex=Sex.FEMALE, birth_on=BIRTH.date(), birth_at=BIRTH
    )


def _record(baby, district, values):
    return record_result(baby, CODE, "SCREEN", values, district["hospital"], CLINIC, BIRTH + 3 * DAY)


def test_the_trait_is_stored_on_the_case_and_read_by_its_later_steps(jaundice, baby, district):
    recorded = _record(baby, district, screen("NORMAL", gestational_age="35"))
    case = recorded.case
    assert recorded.case_opened and case.current_step == "RECHECK"
    assert case.subject_traits == {GESTATIONAL_AGE: 35}
    assert case_subject(case).traits == Traits({GESTATIONAL_AGE: 35})
    record_step(case, "RECHECK", "NORMAL", CLINIC, BIRTH + 4 * DAY)
    assert case.current_step == "REVIEW"


def test_without_the_trait_the_same_step_result_closes_the_case(jaundice, baby, district):
    case = _record(baby, district, screen("HIGH")).case
    assert case.subject_traits == {}
    record_step(case, "RECHECK", "NORMAL", CLINIC, BIRTH + 4 * DAY)
    assert case.outcome is ClosureOutcome.RESCREEN_NORMAL
