"""validate_values: what forms and imports reject, naming the field."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from screenings.engine import parse_values, validate_values
from screenings.programs import get_program

CHD = get_program("NEWBORN_CHD")
METABOLIC = get_program("NEWBORN_METABOLIC")
CHD_VALUES = {
    "screened_at": "2026-03-03T09:00:00+08:00",
    "murmur_grade": "0",
    "spo2_right_hand": "97",
    "spo2_foot": "96.5",
}


def codes(program, test, values):
    return [(e.field, e.code) for e in validate_values(program, test, values)]


def test_valid_text_values_from_an_import_parse_to_typed_values():
    parsed, errors = parse_values(
        CHD.test("SCREEN"), {**CHD_VALUES, "clinical_items": "CYANOSIS, FAMILY_HISTORY"}
    )
    assert errors == []
    assert parsed["screened_at"] == datetime(2026, 3, 3, 1, tzinfo=UTC)
    assert parsed["spo2_foot"] == Decimal("96.5") and parsed["murmur_grade"] == 0
    assert parsed["clinical_items"] == ("FAMILY_HISTORY", "CYANOSIS")  # declaration order
    assert parsed["symptomatic"] is None and parsed["repeat_spo2_foot"] is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"spo2_right_hand": None}, [("spo2_right_hand", "REQUIRED")]),
        ({"spo2_right_hand": ""}, [("spo2_right_hand", "REQUIRED")]),
        ({"spo2_foot": "49"}, [("spo2_foot", "BELOW_RANGE")]),
        ({"spo2_foot": "100.1"}, [("spo2_foot", "ABOVE_RANGE")]),
        ({"spo2_foot": "ninety"}, [("spo2_foot", "INVALID_NUMBER")]),
        ({"spo2_foot": "NaN"}, [("spo2_foot", "INVALID_NUMBER")]),
        ({"murmur_grade": "2.5"}, [("murmur_grade", "INVALID_INTEGER")]),
        ({"murmur_grade": 7}, [("murmur_grade", "ABOVE_RANGE")]),
        ({"screened_at": "2026-03-03T09:00:00"}, [("screened_at", "NAIVE_DATETIME")]),
        ({"screened_at": "yesterday"}, [("screened_at", "INVALID_DATETIME")]),
        ({"symptomatic": "maybe"}, [("symptomatic", "INVALID_BOOLEAN")]),
        ({"clinical_items": "CYANOSIS,TELEPATHY"}, [("clinical_items", "UNKNOWN_CHOICE")]),
    ],
)
def test_problems_name_the_field(change, expected):
    assert codes(CHD, "SCREEN", {**CHD_VALUES, **change}) == expected


def test_an_unknown_choice_is_named():
    problems = validate_values(METABOLIC, "HEEL_BLOOD_SPOT", {"collection_status": "LOST_IN_POST"})
    assert [(e.field, e.code) for e in problems] == [("collection_status", "UNKNOWN_CHOICE")]
    assert "LOST_IN_POST" in problems[0].message


def test_fields_required_only_when_another_field_says_so():
    assert codes(METABOLIC, "HEEL_BLOOD_SPOT", {"collection_status": "NOT_COLLECTED"}) == []
    missing = codes(METABOLIC, "HEEL_BLOOD_SPOT", {"collection_status": "COLLECTED"})
    assert ("collected_at", "REQUIRED") in missing and ("spot_count", "REQUIRED") in missing


@pytest.mark.parametrize(("raw", "value"), [("是", True), ("no", False), ("1", True), (False, False)])
def test_booleans_accept_the_usual_spellings(raw, value):
    parsed, _ = parse_values(CHD.test("SCREEN"), {**CHD_VALUES, "symptomatic": raw})
    assert parsed["symptomatic"] is value


def test_dates_parse_and_a_datetime_is_not_a_date():
    test = get_program("CERVICAL_CANCER").test("CYTOLOGY")
    parsed, errors = parse_values(test, {"sampled_on": "2026-03-02", "tbs": "nilm"})
    assert (errors, parsed["sampled_on"], parsed["tbs"]) == ([], date(2026, 3, 2), "NILM")
    _, errors = parse_values(test, {"sampled_on": datetime(2026, 3, 2, tzinfo=UTC), "tbs": "NILM"})
    assert [(e.field, e.code) for e in errors] == [("sampled_on", "INVALID_DATE")]
