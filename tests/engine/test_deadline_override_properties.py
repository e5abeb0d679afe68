"""Properties of due dates under a district's overrides: any declared deadline, any override, any start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screenings.engine import SettingValues, Sex, Subject
from screenings.engine.deadlines import compute_due
from screenings.engine.times import local_date
from screenings.programs import PROGRAMS

FAST = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
DEADLINES = [
    (program, step.deadline)
    for program in PROGRAMS.values()
    for step in program.steps
    if getattr(step, "deadline", None) is not None
]
BIRTH = datetime(2026, 1, 1, 2, tzinfo=UTC)


def _subject(program) -> Subject:
    return Subject(program.eligibility.kinds[0], Sex.FEMALE, BIRTH, local_date(BIRTH))


@FAST
@given(
    chosen=st.sampled_from(DEADLINES),
    offset_hours=st.integers(0, 24 * 400),
    amount=st.integers(0, 400),
)
def test_a_due_date_is_never_before_its_start_and_names_exactly_the_overrides_that_differ(
    chosen, offset_hours, amount
):
    program, deadline = chosen
    set_at = BIRTH + timedelta(hours=offset_hours)
    setting = deadline.settings[0]
    values = SettingValues.resolve(program.settings, {setting.name: amount})
    due = compute_due(deadline, set_at=set_at, subject=_subject(program), values=values)
    assert due.due_at >= set_at
    assert due.due_at == max(set_at, min(d for d in (due.relative_due_at, due.age_due_at) if d))
    expected = (setting.name,) if amount != setting.default else ()
    assert tuple(n for n in due.overridden_settings if n == setting.name) == expected


@FAST
@given(
    chosen=st.sampled_from(DEADLINES),
    offset_hours=st.integers(0, 24 * 400),
    smaller=st.integers(0, 200),
    extra=st.integers(0, 200),
)
def test_a_longer_district_window_never_brings_a_due_date_earlier(chosen, offset_hours, smaller, extra):
    program, deadline = chosen
    set_at = BIRTH + timedelta(hours=offset_hours)
    subject = _subject(program)
    dues = [
        compute_due(
            deadline,
            set_at=set_at,
            subject=subject,
            values=SettingValues.resolve(program.settings, {s.name: amount for s in deadline.settings}),
        ).due_at
        for amount in (smaller, smaller + extra)
    ]
    assert dues[0] <= dues[1]
