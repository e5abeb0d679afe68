"""A program words its own concepts, in Chinese and English, with the numbers of its settings in force."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from screenings.engine import (
    COMMON_MESSAGES,
    Message,
    Sex,
    Subject,
    SubjectKind,
    check_program,
    classify,
    render_message,
)
from screenings.programs import PROGRAMS, get_program

METABOLIC = get_program("NEWBORN_METABOLIC")
HEARING = get_program("NEWBORN_HEARING")
AUTISM = get_program("AUTISM")


@pytest.mark.parametrize("code", PROGRAMS)
@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_message_of_every_program_renders_with_its_defaults(code, language):
    program = PROGRAMS[code]
    for key in [*program.messages, *COMMON_MESSAGES]:
        text = render_message(program, key, language)
        assert text and "%(" not in text, (code, key)
        if language == "zh":
            assert re.search(r"[\u4e00-\u9fff]", text), (code, key)


def test_a_program_message_states_its_default_setting_in_both_languages():
    assert render_message(METABOLIC, "AFTER_LATE_LIMIT", "zh") == "出生20天后采血：不属于及时筛查。"
    assert (
        render_message(METABOLIC, "AFTER_LATE_LIMIT", "en") == "Collected after day 20: not a timely screen."
    )
    assert render_message(AUTISM, "MCHAT_AGE", "zh") == "M-CHAT-R/F适用于16–30月龄。"


def test_the_lost_to_follow_up_refusal_states_the_programs_policy():
    assert render_message(HEARING, "NOT_LOST", "en") == (
        "The lost-to-follow-up rule does not hold yet: at least 3 attempts over 14 days "
        "through 2 channels after the due date."
    )
    assert render_message(HEARING, "NOT_LOST", "zh") == (
        "尚不满足失访条件：到期后需历时至少14天、通过至少2种方式追访至少3次。"
    )


def test_a_district_override_changes_the_text_too():
    # overrides arrive as the settings table stores them: strings, read as the default's type
    overrides = {"NEWBORN_HEARING.LTFU_MIN_ATTEMPTS": "4", "NEWBORN_HEARING.LTFU_MIN_SPAN_DAYS": 21}
    en = render_message(HEARING, "NOT_LOST", "en", overrides)
    zh = render_message(HEARING, "NOT_LOST", "zh", overrides)
    assert "at least 4 attempts over 21 days through 2 channels" in en
    assert "历时至少21天" in zh and "追访至少4次" in zh
    late = render_message(METABOLIC, "AFTER_LATE_LIMIT", "en", {"NEWBORN_METABOLIC.LATE_LIMIT_AGE_DAYS": 28})
    assert late == "Collected after day 28: not a timely screen."
    # another program's override does not leak into this one's text
    assert "3 attempts" in render_message(HEARING, "NOT_LOST", "en", {"AUTISM.LTFU_MIN_ATTEMPTS": 5})


def test_the_notice_the_rule_raises_and_its_message_agree_on_the_overridden_number():
    birth = datetime(2026, 3, 1, 1, tzinfo=UTC)
    subject = Subject(kind=SubjectKind.NEWBORN, sex=Sex.MALE, birth_at=birth, birth_on=birth.date())
    values = {
        "screening_status": "DONE",
        "screened_at": (birth + timedelta(hours=30)).isoformat(),
        "method": "AABR",
        "left_ear": "PASS",
        "right_ear": "PASS",
    }
    overrides = {"NEWBORN_HEARING.INITIAL_EARLIEST_AGE_HOURS": 36}
    notice = next(w for w in classify(HEARING, "INITIAL", values, subject, overrides).warnings)
    assert notice.code == "BEFORE_48H" and "36 h" in notice.message
    assert render_message(HEARING, notice.code, "zh", overrides) == "出生不满36小时进行初筛。"


def test_an_unknown_key_is_left_to_the_generic_wording():
    assert render_message(HEARING, "REQUIRED", "en") is None


def test_a_message_naming_an_unknown_setting_fails_the_program_check():
    broken = replace(HEARING, messages={"X": Message("%(NO_SUCH)s小时", "%(NO_SUCH)s hours")})
    assert any("NO_SUCH" in problem for problem in check_program(broken))
    half = replace(HEARING, messages={"X": Message("", "English only")})
    assert any("lacks a language" in problem for problem in check_program(half))
