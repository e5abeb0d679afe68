"""Every program declaration is complete and consistent, and the engine stays pure."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from screenings.engine import (
    OUTCOME_MEANINGS,
    CaseReason,
    ClosureOutcome,
    FieldKind,
    check_program,
    entry_steps,
)
from screenings.programs import PROGRAMS, get_program

ALL = list(PROGRAMS.values())
IDS = list(PROGRAMS)


def test_the_nine_programs_in_order():
    assert IDS == [
        "NEWBORN_METABOLIC",
        "NEWBORN_HEARING",
        "NEWBORN_CHD",
        "CERVICAL_CANCER",
        "BREAST_CANCER",
        "AUTISM",
        "PMTCT_HIV",
        "PMTCT_SYPHILIS",
        "PMTCT_HBV",
    ]
    assert get_program("AUTISM") is PROGRAMS["AUTISM"]


def test_an_unknown_program_is_a_clear_key_error():
    with pytest.raises(
        KeyError, match="unknown screening program 'NEWBORN_VISION'; known programs: NEWBORN_"
    ):
        get_program("NEWBORN_VISION")


@pytest.mark.parametrize("program", ALL, ids=IDS)
def test_declaration_is_consistent(program):
    assert check_program(program) == []
    assert re.fullmatch(rf"{program.code}/\d{{4}}\.\d+", program.rule_version)
    assert program.zh and program.en and program.eligibility.kinds


@pytest.mark.parametrize("program", ALL, ids=IDS)
def test_tests_declare_what_forms_and_imports_need(program):
    for test in program.tests:
        assert test.zh and test.en and test.result_codes
        for field in test.fields:
            assert field.zh and field.en
            if field.kind in (FieldKind.DECIMAL, FieldKind.INTEGER):
                assert field.min_value is not None and field.max_value is not None, (
                    f"{test.code}.{field.name}"
                )
            if field.kind in (FieldKind.CHOICE, FieldKind.MULTI_CHOICE):
                assert all(c.code == c.code.upper() and c.zh and c.en for c in field.choices)
        for result in test.result_codes:
            assert result.code == result.code.upper() and result.zh and result.en
            if result.opens_case:
                assert isinstance(result.case_reason, CaseReason) and result.first_step in entry_steps(
                    program
                )


@pytest.mark.parametrize("program", ALL, ids=IDS)
def test_steps_have_labels_deadlines_and_lead_somewhere(program):
    for step in program.steps:
        assert step.zh and step.en and step.deadline.settings
        for transition in step.transitions:
            assert transition.zh and transition.en
            assert transition.outcome is None or isinstance(transition.outcome, ClosureOutcome)


@pytest.mark.parametrize("program", ALL, ids=IDS)
def test_indicators_have_formula_cohort_and_unique_codes(program):
    codes = [i.code for i in program.indicators]
    assert len(codes) == len(set(codes))
    assert any(i.target is not None for i in program.indicators)
    for indicator in program.indicators:
        assert indicator.zh and indicator.en and indicator.numerator and indicator.denominator
        assert indicator.source


def test_pmtct_programs_each_carry_an_exposed_infant_schedule():
    for code in ("PMTCT_HIV", "PMTCT_SYPHILIS", "PMTCT_HBV"):
        plan = get_program(code).exposed_infant
        assert plan is not None and plan.schedule[0] == plan.first_step
        assert any(r.exposes_infant for t in get_program(code).tests for r in t.result_codes)


def test_every_outcome_has_an_indicator_meaning_and_losses_are_only_losses():
    assert set(OUTCOME_MEANINGS) == set(ClosureOutcome)
    lost = [o for o, meaning in OUTCOME_MEANINGS.items() if meaning.lost]
    assert lost == [ClosureOutcome.LOST_TO_FOLLOW_UP]
    for outcome in (ClosureOutcome.DIED, ClosureOutcome.MOVED_AWAY, ClosureOutcome.REFUSED):
        assert not OUTCOME_MEANINGS[outcome].lost


def test_declarations_are_frozen():
    program = get_program("NEWBORN_HEARING")
    with pytest.raises(dataclasses.FrozenInstanceError):
        program.code = "X"  # type: ignore[misc]


@pytest.mark.parametrize("package", ["engine", "programs"])
def test_engine_and_programs_read_no_clock_and_import_no_framework(package):
    root = Path(__file__).resolve().parents[2] / "screenings" / package
    forbidden = re.compile(
        r"\.now\(|\.today\(|\butcnow\(|time\.time\(|^\s*(from|import) (flask|sqlalchemy)", re.M
    )
    offenders = [p.name for p in sorted(root.glob("*.py")) if forbidden.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
