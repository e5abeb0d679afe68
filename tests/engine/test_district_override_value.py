"""What a district may set: [P] and [R] values of the declared type, never a sourced [S] value."""

from __future__ import annotations

from decimal import Decimal

import pytest

from screenings.engine.settings import Evidence, Setting, district_override_value

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
