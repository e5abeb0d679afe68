"""GB 11643 resident ID numbers: each failed check has its own message; masking of identifiers."""

import datetime as dt
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.people.idnumbers import (
    IdNumberError,
    check_digit,
    mask_id_number,
    mask_phone,
    normalise,
    normalise_phone,
    parse_resident_id,
    scrub_identifiers,
)

TODAY = dt.date(2026, 11, 22)


@pytest.mark.parametrize(
    ("number", "birth_on", "male"),
    [
        ("11010519491231002X", dt.date(1949, 12, 31), False),
        ("440524188001010014", dt.date(1880, 1, 1), True),  # the standard's own example: valid
        ("330106199003070022", dt.date(1990, 3, 7), False),
        ("11010519491231002x", dt.date(1949, 12, 31), False),  # lower-case x is normalised
    ],
)
def test_valid_numbers_parse(number, birth_on, male):
    parsed = parse_resident_id(number)
    assert parsed.birth_on == birth_on
    assert parsed.is_male is male
    assert parsed.number == number.upper()


def _with_check(body: str) -> str:
    return body + check_digit(body)


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("110105194912310021", "check_digit"),
        (_with_check("11010519990230002"), "birth_date"),  # 30 February
        ("11010519491231002", "length"),
        ("11010519491231002XX", "length"),
        ("1101051949123100AX", "characters"),
        (_with_check("91010519491231002"), "region"),
    ],
)
def test_each_failed_check_is_named(number, code):
    with pytest.raises(IdNumberError) as error:
        parse_resident_id(number)
    assert error.value.code == code


valid_bodies = st.builds(
    lambda region, day, seq: f"{region}{day:%Y%m%d}{seq:03d}",
    st.sampled_from(["110105", "330106", "440524", "510107"]),
    st.dates(dt.date(1900, 1, 1), TODAY),
    st.integers(0, 999),
)


@given(valid_bodies)
def test_generated_valid_numbers_always_pass(body):
    assert parse_resident_id(_with_check(body)).number == _with_check(body)


@given(valid_bodies, st.integers(14, 16), st.integers(1, 9))
def test_any_single_digit_mistype_in_the_sequence_is_caught(body, position, delta):
    number = _with_check(body)
    mistyped = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1 :]
    with pytest.raises(IdNumberError):
        parse_resident_id(mistyped)


@given(valid_bodies, st.integers(14, 15))
def test_adjacent_transposition_in_the_sequence_is_caught(body, position):
    number = _with_check(body)
    if number[position] == number[position + 1]:
        return
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    with pytest.raises(IdNumberError):
        parse_resident_id(swapped)


def test_masking_keeps_four_leading_and_four_trailing_characters():
    assert mask_id_number("11010519491231002X") == "1101**********002X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number(None) == "" and mask_phone("") == ""


def test_identifiers_are_scrubbed_from_free_text():
    text = "person 11010519491231002X called from 13812345678 about case 42"
    assert scrub_identifiers(text) == "person 1101**********002X called from 138****5678 about case 42"


def test_full_width_digits_are_the_same_number():
    assert normalise("１１０１０５１９４９１２３１００２ｘ") == "11010519491231002X"
    assert parse_resident_id("１１０１０５１９４９１２３１００２Ｘ").number == "11010519491231002X"
    assert normalise_phone("１３８ １２３４-５６７８") == "13812345678"


def test_an_ascii_number_is_normalised_as_the_unicode_path_would():
    # ASCII takes a shortcut (an import reads every row's number): the same canonical form either way.
    for raw in ("11010519491231002x", " 1101 0519 4912 3100 2X\t", "e12345678", "13812345678"):
        assert normalise(raw) == "".join(unicodedata.normalize("NFKC", raw).split()).upper()
