"""Chinese resident identity numbers (GB 11643-1999) and how identifiers are shown on screen."""

import dataclasses
import datetime as dt
import re
import unicodedata

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK_CHARACTERS = "10X98765432"
# Registration refuses birth dates before this year as implausible; the ID number itself may encode any date.
EARLIEST_BIRTH_YEAR = 1900
# The first digit of a GB/T 2260 region code is the region group 1–8 (North China … Taiwan/HK/Macao).
PLAUSIBLE_REGION_FIRST_DIGITS = set("12345678")
MOBILE_PATTERN = re.compile(r"^1[3-9]\d{9}$")


class IdNumberError(ValueError):
    """An identity number failed one named check; `code` says which."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclasses.dataclass(frozen=True)
class ResidentId:
    number: str
    region_code: str
    birth_on: dt.date
    is_male: bool


def check_digit(body: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return CHECK_CHARACTERS[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


def normalise(raw: str) -> str:
    """The canonical form of a typed identifier: full-width and other Unicode digits as ASCII, no spaces.

    NFKC folds full-width "１２３" and "Ｘ" onto "123" and "X"; without it a full-width copy of a
    registered ID passed the uniqueness check as a different number.
    """
    if raw.isascii():  # NFKC leaves ASCII as it is (an import reads a hundred thousand of these)
        return "".join(raw.split()).upper()
    folded = unicodedata.normalize("NFKC", raw)
    folded = "".join(str(unicodedata.digit(c)) if c.isdigit() and not c.isascii() else c for c in folded)
    return "".join(folded.split()).upper()


def normalise_phone(raw: str | None) -> str | None:
    """A phone number as digits (and a leading +), whatever digits and separators were typed."""
    if raw is None:
        return None
    compact = normalise(raw).replace("-", "")
    return compact or None


def parse_resident_id(raw: str) -> ResidentId:
    """Check a GB 11643 resident ID and return what it encodes, or raise IdNumberError naming the check.

    Any real calendar date is a valid birth date here, as in the standard (its own example is from 1880);
    whether a date is plausible for a person being registered is the registration form's separate check.
    """
    number = normalise(raw)
    if len(number) != 18:
        raise IdNumberError("length", f"must be 18 characters (got {len(number)})")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise IdNumberError("characters", "must be 17 digits followed by a digit or X")
    if number[0] not in PLAUSIBLE_REGION_FIRST_DIGITS or number[:6].endswith("0000"):
        raise IdNumberError("region", f"region code {number[:6]} is not a plausible county code")
    try:
        birth_on = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdNumberError("birth_date", f"birth date {number[6:14]} is not a real calendar date") from None
    if check_digit(number[:17]) != number[17]:
        raise IdNumberError("check_digit", "check digit does not match (a digit is mistyped)")
    return ResidentId(
        number=number, region_code=number[:6], birth_on=birth_on, is_male=int(number[16]) % 2 == 1
    )


def check_sex(parsed: ResidentId, male: bool) -> None:
    """Refuse a resident ID whose 17th digit (odd: male) gives another sex than the person's.

    The one check of an ID number against a sex: registration asks it of the sex entered, the import of
    the sex a program screens (a male ID in a cervical-screening file).
    """
    if parsed.is_male != male:
        raise IdNumberError("sex", "the 17th digit gives a different sex")


def mask_id_number(number: str | None) -> str:
    """Show the first four and last four characters of an identity number, e.g. 1101**********002X."""
    if not number:
        return ""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(phone: str | None) -> str:
    """Show a phone number as 138****5678."""
    if not phone:
        return ""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


# Patterns used to scrub logs: an 18-character ID or a mainland mobile number anywhere in a message.
ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
MOBILE_IN_TEXT = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def scrub_identifiers(text: str) -> str:
    """Mask every identity and mobile number found in free text."""
    text = ID_IN_TEXT.sub(lambda m: mask_id_number(m.group(0)), text)
    return MOBILE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), text)
