"""The indicator vocabulary and its reference evaluator: rules that hold for every program."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screenings.engine import (
    LOST,
    NEVER_LOST,
    ClosureOutcome,
    Counting,
    Has,
    Indicator,
    IndicatorUnit,
    Milestone,
    Population,
    Recorded,
    ResultClass,
    ResultClassIs,
    ResultIs,
    SubjectKind,
    TargetComparison,
    Within,
    check_program,
    episode_facts,
    evaluate,
    event_period,
    meets_target,
    percentile,
    result_class_of,
)
from screenings.engine.predicates import Context
from screenings.programs import PROGRAMS, get_program
from tests.engine.indicator_facts import at, fact

ALL = list(PROGRAMS.values())
IDS = [p.code for p in ALL]
MARCH = {"start": date(2026, 3, 1), "end": date(2026, 3, 31)}
M = Milestone


@pytest.mark.parametrize("program", ALL, ids=IDS)
def test_every_indicator_is_computable_or_says_why_not(program):
    assert check_program(program) == []
    for indicator in program.indicators:
        if indicator.supported:
            assert indicator.den is not None and (indicator.num or indicator.measure)
        else:
            assert indicator.unsupported and indicator.num is None and indicator.den is None


@pytest.mark.parametrize("program", ALL, ids=IDS)
def test_zero_denominators_give_no_value_and_unsupported_indicators_give_their_reason(program):
    for indicator in program.indicators:
        figure = evaluate(indicator, [], **MARCH, populations={})
        assert figure.value is None and figure.meets_target is None
        if not indicator.supported:
            assert (figure.numerator, figure.denominator) == (None, None)
            assert figure.reason == indicator.unsupported
        elif isinstance(indicator.den, Population):
            assert figure.reason == f"population figure {indicator.den.key} not entered"
        else:
            assert figure.denominator == 0 and figure.reason in ("zero denominator", "no rows to measure")


def test_a_population_denominator_of_zero_gives_no_value():
    indicator = get_program("AUTISM").indicators[0]
    assert isinstance(indicator.den, Population)
    figure = evaluate(indicator, [], **MARCH, populations={indicator.den.key: 0})
    assert (figure.numerator, figure.denominator, figure.value) == (0, 0, None)


@pytest.mark.parametrize("outcome", sorted(NEVER_LOST))
def test_a_death_a_move_or_a_refusal_is_never_a_loss(outcome):
    with pytest.raises(ValueError, match="not lost to follow-up"):
        fact(
            "NEWBORN_HEARING",
            1,
            born=date(2026, 3, 1),
            lost=date(2026, 5, 1),
            closed=(date(2026, 5, 2), outcome),
        )
    closed = fact("NEWBORN_HEARING", 1, born=date(2026, 3, 1), closed=(date(2026, 5, 2), outcome))
    assert not LOST.holds(closed, Context(date(2026, 6, 1)))


def test_only_a_loss_counts_in_the_loss_to_follow_up_rates():
    program = get_program("NEWBORN_HEARING")
    ltfu = next(i for i in program.indicators if i.code == "LTFU_RATE")
    rows = [
        fact(program.code, n, born=date(2026, 3, 2), screened=date(2026, 3, 4), positive=date(2026, 3, 4),
             result_class=ResultClass.REFERRED, closed=(date(2026, 5, 1), outcome), **extra)
        for n, (outcome, extra) in enumerate([
            (ClosureOutcome.DIED, {}),
            (ClosureOutcome.MOVED_AWAY, {}),
            (ClosureOutcome.REFUSED, {}),
            (ClosureOutcome.LOST_TO_FOLLOW_UP, {"lost": date(2026, 5, 1)}),
        ])
    ]  # fmt: skip
    figure = evaluate(ltfu, rows, **MARCH)
    assert (figure.numerator, figure.denominator) == (1, 4)


@pytest.mark.parametrize(
    ("value", "target", "comparison", "met"),
    [
        ("98", "98", TargetComparison.AT_LEAST, True),
        ("97.99", "98", TargetComparison.AT_LEAST, False),
        ("5", "5", TargetComparison.AT_MOST, True),
        ("5.01", "5", TargetComparison.AT_MOST, False),
        ("1", "1", TargetComparison.BELOW, False),  # "<1 %": equal is not below
        ("0.99", "1", TargetComparison.BELOW, True),
    ],
)
def test_targets_compare_as_the_program_declares(value, target, comparison, met):
    assert meets_target(Decimal(value), Decimal(target), comparison) is met
    assert meets_target(None, Decimal(target), comparison) is None
    assert meets_target(Decimal(value), None, comparison) is None


def test_a_figure_is_marked_against_its_target_and_a_district_override_moves_the_target():
    program = get_program("NEWBORN_HEARING")
    rate = next(i for i in program.indicators if i.code == "INITIAL_SCREEN_RATE")
    rows = [fact(program.code, n, born=date(2026, 3, 2), **({"screened": date(2026, 3, 4)} if n < 17 else {}))
            for n in range(20)]  # fmt: skip
    figure = evaluate(rate, rows, **MARCH)
    assert (figure.numerator, figure.denominator, figure.value) == (17, 20, Decimal(85))
    assert figure.target == Decimal(90) and figure.meets_target is False
    lowered = evaluate(
        rate, rows, **MARCH, values=program.values({"NEWBORN_HEARING.TARGET_INITIAL_SCREEN_RATE": "85"})
    )
    assert lowered.target == Decimal(85) and lowered.meets_target is True


def test_a_limit_declared_as_a_setting_follows_the_district_override():
    program = get_program("NEWBORN_HEARING")
    by_3_months = next(i for i in program.indicators if i.code == "DIAGNOSED_BY_3_MONTHS")
    row = fact(
        program.code,
        1,
        born=date(2026, 3, 1),
        screened=(date(2026, 3, 3), "BILATERAL_REFER"),
        rescreened=(date(2026, 3, 20), "BILATERAL_REFER"),
        diagnosed=date(2026, 6, 4),
    )  # 95 days
    assert evaluate(by_3_months, [row], **MARCH).numerator == 0
    later = program.values({"NEWBORN_HEARING.DIAGNOSIS_BY_AGE_DAYS": 100})
    assert evaluate(by_3_months, [row], **MARCH, values=later).numerator == 1


def test_within_counts_calendar_days_or_hours_and_never_before_the_start():
    row = fact("X", 1, born=at(date(2026, 3, 1), 23, 30), screened=at(date(2026, 3, 21), 8))
    context = Context(date(2026, 4, 1))
    assert Within(M.SCREENED, days=20).holds(row, context)  # 20 calendar days, although 19 d 8.5 h
    assert not Within(M.SCREENED, days=19).holds(row, context)
    assert Within(M.SCREENED, hours=465).holds(row, context) and not Within(M.SCREENED, hours=464).holds(
        row, context
    )
    assert not Within(M.BORN, days=30, from_=M.SCREENED).holds(row, context)


def test_percentiles_interpolate_as_percentile_cont():
    assert percentile([4, 1, 3, 2], Decimal("0.5")) == Decimal("2.5")
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], Decimal("0.9")) == Decimal("9.1")
    assert percentile([7], Decimal("0.9")) == Decimal(7)
    assert percentile([], Decimal("0.5")) is None


def test_one_in_n_is_screened_per_case_and_undefined_without_a_case():
    detection = next(i for i in get_program("NEWBORN_METABOLIC").indicators if i.code == "DETECTION_RATE")
    assert detection.unit is IndicatorUnit.ONE_IN_N
    rows = [
        fact("NEWBORN_METABOLIC", n, born=date(2026, 3, 2), screened=date(2026, 3, 5)) for n in range(3000)
    ]
    assert evaluate(detection, rows, **MARCH).value is None
    rows[0] = fact(
        "NEWBORN_METABOLIC",
        0,
        born=date(2026, 3, 2),
        screened=date(2026, 3, 5),
        confirmed=(date(2026, 3, 20), "CH_PERMANENT"),
    )
    assert evaluate(detection, rows, **MARCH).value == Decimal(3000)


def test_a_transferred_episode_counts_at_the_receiving_institution_from_the_transfer_date():
    program = get_program("NEWBORN_HEARING")
    rate = next(i for i in program.indicators if i.code == "RESCREEN_RATE")
    row = fact(
        program.code,
        1,
        institution="A",
        born=date(2026, 3, 2),
        screened=(date(2026, 3, 4), "BILATERAL_REFER"),
        result_class=ResultClass.REFERRED,
        transferred=(date(2026, 4, 10), "B"),
    )
    march = {"start": date(2026, 3, 1), "end": date(2026, 3, 31)}
    assert evaluate(rate, [row], **march, institution="A").denominator == 1
    assert evaluate(rate, [row], **march, institution="B").denominator == 0
    year_to_date = {"start": date(2026, 1, 1), "end": date(2026, 4, 30)}
    assert evaluate(rate, [row], **year_to_date, institution="A").denominator == 0
    assert evaluate(rate, [row], **year_to_date, institution="B").denominator == 1


def test_persons_are_counted_once_when_the_indicator_counts_persons():
    indicator = Indicator(
        "X",
        "x",
        "x",
        "screened",
        "children",
        event_period(),
        num=Has(M.SCREENED),
        den=Population("P", "p", "p"),
        counting=Counting.PERSONS,
    )
    rows = [fact("AUTISM", 1, episode=e, screened=date(2026, 3, 1 + e)) for e in (1, 2)]
    assert evaluate(indicator, rows, **MARCH, populations={"P": 10}).numerator == 1


def test_result_classes_follow_the_case_a_result_code_opens():
    metabolic = get_program("NEWBORN_METABOLIC").test("HEEL_BLOOD_SPOT")
    assert {r.code: result_class_of(r) for r in metabolic.result_codes} == {
        "NORMAL": ResultClass.NORMAL, "UNSATISFACTORY": ResultClass.UNSATISFACTORY,
        "INFO_MISSING": ResultClass.UNSATISFACTORY, "SUSPECTED_POSITIVE": ResultClass.POSITIVE,
        "RECALL": ResultClass.POSITIVE, "NOT_COLLECTED": ResultClass.MISSED, "DELAYED": ResultClass.MISSED,
        "REFUSED": ResultClass.REFUSED,
    }  # fmt: skip
    hearing = get_program("NEWBORN_HEARING").test("INITIAL")
    assert result_class_of(hearing.result("BILATERAL_REFER")) is ResultClass.REFERRED
    assert result_class_of(hearing.result("MISSED")) is ResultClass.MISSED


def test_predicates_compose_and_name_what_they_read():
    predicate = (Has(M.SCREENED) & ~ResultIs(M.SCREENED, "NORMAL")) | ResultClassIs(ResultClass.MISSED)
    assert set(predicate.names()) == {"screened"}
    row = fact("X", 1, screened=(date(2026, 3, 1), "POSITIVE"))
    assert predicate.holds(row, Context(date(2026, 3, 31)))
    with pytest.raises(ValueError):
        ResultIs(M.SCREENED)


_INSTITUTIONS = st.sampled_from(["A", "B", "C"])
_DAY = st.integers(min_value=1, max_value=28).map(lambda d: date(2026, 3, d))


@st.composite
def _hearing_journey(draw, person: int):
    born = draw(_DAY)
    marks: dict = {"born": born}
    result_class = None
    if draw(st.booleans()):
        code = draw(st.sampled_from(["BILATERAL_PASS", "UNILATERAL_REFER_L", "BILATERAL_REFER"]))
        marks["screened"] = (born, code)
        result_class = ResultClass.NORMAL if code == "BILATERAL_PASS" else ResultClass.REFERRED
        if result_class is ResultClass.REFERRED:
            marks["positive"] = born
            if draw(st.booleans()):
                marks["rescreened"] = (born, draw(st.sampled_from(["BILATERAL_PASS", "BILATERAL_REFER"])))
            if draw(st.booleans()):
                marks["lost"] = born
                marks["closed"] = (born, ClosureOutcome.LOST_TO_FOLLOW_UP)
    if draw(st.booleans()):
        marks["transferred"] = (draw(_DAY), draw(_INSTITUTIONS))
    return fact(
        "NEWBORN_HEARING", person, institution=draw(_INSTITUTIONS), result_class=result_class, **marks
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=0, max_size=25, unique=True).flatmap(
    lambda ids: st.tuples(*(_hearing_journey(i) for i in ids))))  # fmt: skip
def test_the_institutions_add_up_to_the_district(rows):
    program = get_program("NEWBORN_HEARING")
    for indicator in program.indicators:
        whole = evaluate(indicator, rows, **MARCH)
        parts = [evaluate(indicator, rows, **MARCH, institution=i) for i in "ABC"]
        assert whole.numerator == sum(p.numerator for p in parts)
        assert whole.denominator == sum(p.denominator for p in parts)


def test_a_fact_row_is_built_from_results_by_the_programs_milestone_rules():
    program = get_program("NEWBORN_HEARING")
    born = at(date(2026, 3, 5), 8)
    records = [
        Recorded("RESCREEN", "BILATERAL_REFER", at(date(2026, 4, 10))),
        Recorded("INITIAL", "MISSED", at(date(2026, 3, 12))),
        Recorded("DIAGNOSIS", "SENSORINEURAL", at(date(2026, 5, 20))),
        Recorded("INTERVENTION", "HEARING_AID_FITTED", at(date(2026, 8, 15))),
    ]
    row = episode_facts(program, 3, "A", SubjectKind.NEWBORN, records, born_at=born,
                        closed=(at(date(2026, 8, 15)), ClosureOutcome.CONFIRMED_TREATED))  # fmt: skip
    assert row.result_class is ResultClass.MISSED and M.SCREENED not in row.marks
    assert {name: (mark.on.isoformat(), mark.code) for name, mark in row.marks.items()} == {
        "positive": ("2026-03-12", "MISSED"),
        "RESCREEN": ("2026-04-10", "BILATERAL_REFER"),
        "rescreened": ("2026-04-10", "BILATERAL_REFER"),
        "DIAGNOSIS": ("2026-05-20", "SENSORINEURAL"),
        "diagnosed": ("2026-05-20", "SENSORINEURAL"),
        "confirmed": ("2026-05-20", "SENSORINEURAL"),
        "INTERVENTION": ("2026-08-15", "HEARING_AID_FITTED"),
        "treated": ("2026-08-15", "HEARING_AID_FITTED"),
        "born": ("2026-03-05", None),
        "closed": ("2026-08-15", "CONFIRMED_TREATED"),
    }
    by_6_months = next(i for i in program.indicators if i.code == "INTERVENED_BY_6_MONTHS")
    assert evaluate(by_6_months, [row], **MARCH).numerator == 1


def test_a_catch_up_screen_at_a_case_step_counts_as_screened():
    program = get_program("NEWBORN_CHD")
    records = [Recorded("CATCH_UP_SCREEN", "SCREEN_POS", at(date(2026, 3, 6)))]
    row = episode_facts(program, 1, "A", SubjectKind.NEWBORN, records, born_at=at(date(2026, 3, 2)))
    assert row.marks[M.SCREENED].code == "SCREEN_POS" and M.POSITIVE in row.marks
