"""What a district may set: [P] and [R] values of the declared type, never a sourced [S] value."""

from __future__ import annotations

from decimal import Decimal

import pytest

from screenings.engine.settings import (
    Evidence,
    OutOfBounds,
    Setting,
    SettingBook,
    district_override_value,
    setting_bounds,
)
from screenings.programs import PROGRAMS

PROPOSED = Setting("DEMO.ESCALATE_AFTER_DAYS_OVERDUE", 7, Evidence.PROPOSED, "product.md")
RECALLED = Setting("DEMO.FOLLOW_UP_INTERVAL_DAYS", Decimal("90"), Evidence.RECALLED, "§1.5")
SOURCED = Setting("DEMO.TREATED_BY_AGE_DAYS", 30, Evidence.SOURCED, "S17")


def test_a_proposed_value_is_read_as_the_type_of_its_default():
    assert district_override_value(PROPOSED, " 10 ") == 10


def test_a_recalled_value_may_be_changed():
    assert district_override_value(RECALLED, "60.5") == Decimal("60.5")


def test_a_sourced_value_is_refused_with_the_setting_named():
    with pytest.raises(ValueError, match=r"DEMO\.TREATED_BY_AGE_DAYS: a sourced \[S\] value \(S17\)"):
        district_override_value(SOURCED, "20")


def test_a_value_of_the_wrong_type_is_refused_with_the_setting_named():
    with pytest.raises(ValueError, match=r"DEMO\.ESCALATE_AFTER_DAYS_OVERDUE: '7.5' is not a whole number"):
        district_override_value(PROPOSED, "7.5")


def test_a_value_outside_the_unit_s_range_is_refused_with_the_setting_named():
    days = Setting("DEMO.NOTIFY_DAYS", 7, Evidence.PROPOSED, "§0.4", "days")
    with pytest.raises(OutOfBounds, match=r"DEMO\.NOTIFY_DAYS: 0 is out of range; it must be at least 1"):
        district_override_value(days, "0")
    assert district_override_value(days, "3650") == 3650


def test_a_program_s_declared_bounds_replace_the_unit_s():
    book = SettingBook("DEMO")
    narrow = book.add("REPEAT_DAYS", 14, "P", "§x", "days", minimum=7, maximum=28)
    assert setting_bounds(narrow) == (Decimal(7), Decimal(28))
    with pytest.raises(OutOfBounds):
        district_override_value(narrow, "30")


def test_every_declared_district_value_lies_within_its_own_bounds():
    for program in PROGRAMS.values():
        for setting in program.settings:
            if setting.evidence is Evidence.SOURCED or isinstance(setting.default, bool):
                continue
            assert district_override_value(setting, str(setting.default)) == setting.default, setting.name
