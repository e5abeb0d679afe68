"""Program wording at the edge: the program's own messages in the reader's language, and nowhere else."""

import datetime as dt
import pathlib
import re

import pytest
from flask_babel import force_locale

from registry.auth.models import Role
from registry.people.models import PersonKind, Sex
from screenings import texts
from screenings.engine import FieldError, Notice
from screenings.programs import PROGRAMS, get_program

ROOT = pathlib.Path(__file__).resolve().parent.parent
HEARING = get_program("NEWBORN_HEARING")
METABOLIC = get_program("NEWBORN_METABOLIC")
H = dt.timedelta(hours=1)


@pytest.fixture
def request_context(app):
    with app.test_request_context():
        yield


def test_a_programs_notice_reads_in_chinese_and_english(request_context):
    test = METABOLIC.test("HEEL_BLOOD_SPOT")
    notice = Notice("collected_at", "AFTER_LATE_LIMIT", "collected after day 20: not a timely screen")
    with force_locale("zh_Hans_CN"):
        assert texts.message(test, notice) == "出生20天后采血：不属于及时筛查。"
    with force_locale("en"):
        assert texts.message(test, notice) == "Collected after day 20: not a timely screen."


def test_the_text_follows_an_overridden_setting(request_context):
    test = METABOLIC.test("HEEL_BLOOD_SPOT")
    notice = Notice("collected_at", "BEFORE_72H", "collected before 48 h of age")
    overrides = {"NEWBORN_METABOLIC.MIN_COLLECTION_AGE_HOURS": 48}
    with force_locale("zh_Hans_CN"):
        assert texts.message(test, notice, overrides=overrides) == "出生不满48小时采血。"
        refusal = texts.program_text("NEWBORN_HEARING", "NOT_LOST", {"NEWBORN_HEARING.LTFU_MIN_ATTEMPTS": 5})
        assert "追访至少5次" in refusal
    with force_locale("en"):
        assert texts.program_text("NEWBORN_HEARING", "NOT_LOST").startswith(
            "The lost-to-follow-up rule does not hold yet: at least 3 attempts over 14 days"
        )


def test_generic_codes_are_still_translated_by_babel(request_context):
    test = HEARING.test("INITIAL")
    with force_locale("zh_Hans_CN"):
        required = texts.message(test, FieldError("left_ear", "REQUIRED", "required"))
        assert "必" in required or "请" in required or "填写" in required, required
    with force_locale("en"):
        assert texts.message(test, FieldError("left_ear", "REQUIRED", "required")) == "Left ear is required."


def test_the_break_glass_page_names_the_restricted_programs_from_their_declarations(
    client, district, make_user, make_person, login
):
    login(make_user(Role.CLINIC_STAFF, district["hospital"]))
    mother = make_person(district["hospital"], name="孙丽")
    page = client.get(f"/people/{mother.id}/break-glass").get_data(as_text=True)
    restricted = [p for p in PROGRAMS.values() if p.restricted]
    assert restricted and all(p.zh in page for p in restricted)
    assert not any(p.zh in page for p in PROGRAMS.values() if not p.restricted)
    client.post("/language/en", data={"next": "/"})
    page = client.get(f"/people/{mother.id}/break-glass").get_data(as_text=True)
    assert all(p.en in page for p in restricted)


def test_an_early_hearing_screen_warns_with_the_programs_own_words(
    client, district, make_user, make_person, login
):
    login(make_user(Role.CLINIC_STAFF, district["hospital"]))
    birth = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).replace(microsecond=0)
    baby = make_person(
        district["hospital"], name="王小宝", kind=PersonKind.NEWBORN, sex=Sex.MALE,
        birth_on=birth.date(), birth_at=birth,
    )  # fmt: skip
    screened = (birth + 30 * H).astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%dT%H:%M")
    form = {"entry_token": "w-1", "screening_status": "DONE", "screened_at": screened, "method": "AABR",
            "left_ear": "PASS", "right_ear": "PASS"}  # fmt: skip
    url = f"/people/{baby.id}/results/new?program=NEWBORN_HEARING&test=INITIAL"
    page = client.post(url, data=form, follow_redirects=True).get_data(as_text=True)
    assert "出生不满48小时进行初筛。" in page


# Words and [P] numbers that belong to one program: the edge asks the program for them.
PROGRAM_WORDS = re.compile(
    r"BI-RADS|M-CHAT|\bHPV\b|\bNICU\b|\bAABR\b|\bOAE\b|\bHIV\b|syphilis|hepatitis|titre|hysterectomy|"
    r"analyte|day \d+|\d+ hours|\d+ months of age|\d+ attempts|\d+ channels|\d+ days through|"
    r"艾滋病|梅毒|乙肝"
)


def _edge_files():
    yield ROOT / "screenings" / "texts.py"
    yield ROOT / "screenings" / "views.py"
    yield ROOT / "screenings" / "forms.py"
    yield ROOT / "screenings" / "letters.py"
    yield ROOT / "screenings" / "worklist.py"
    yield from (ROOT / "screenings" / "imports").glob("*.py")
    yield from (ROOT / "templates").rglob("*.html")
    yield from (ROOT / "registry").rglob("*.py")  # the kernel knows no program at all


def test_the_edge_no_longer_words_program_concepts():
    found = []
    for path in _edge_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith(("#", '"""')):
                continue  # comments and docstrings may name what they are about
            if PROGRAM_WORDS.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {stripped}")
    assert not found, "\n".join(found)
