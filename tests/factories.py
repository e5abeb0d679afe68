"""Test data builders: one function per thing a test needs, plain defaults, keyword overrides (indico style).

Each builder writes through the test's session (`db.session`, inside the `db_session` fixture's rolled-back
transaction) and flushes, so the object has its id. Defaults are a plausible Hangzhou record; a test states
only what it is about: `newborn(hospital, born_at=BIRTH)`, `referred_case(baby, hospital)`.
"""

from __future__ import annotations

import datetime as dt
import itertools

from registry.audit import Actor
from registry.auth.models import Role, User
from registry.auth.passwords import hash_password
from registry.clock import SHANGHAI
from registry.extensions import db
from registry.institutions import Institution, InstitutionKind
from registry.people.models import IdDocumentType, Person, PersonKind, Sex
from registry.people.services import pinyin_of

PASSWORD = "Test-Password-2026"
NOW = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)  # 10:00 on 22 November in Shanghai
BIRTH = dt.datetime(2026, 11, 18, 1, 0, tzinfo=dt.UTC)  # 09:00 on 18 November in Shanghai
CLINIC = Actor(user_id=None, username="clinic-test")
H = dt.timedelta(hours=1)

_sequence = itertools.count(1)
_password_hash: str | None = None


def unique() -> int:
    """Return a number no other builder in this test run has used (for codes and usernames)."""
    return next(_sequence)


def _saved(thing):
    db.session.add(thing)
    db.session.flush()
    return thing


# -- institutions and users -------------------------------------------------------------------------


def district() -> dict[str, Institution]:
    """Return a city with one district (a hospital, a community centre, the MCH centre) and a far district."""
    n = unique()
    city = Institution(code=f"C{n}", name="杭州市", kind=InstitutionKind.CITY)
    home = Institution(code=f"D{n}", name="西湖区", kind=InstitutionKind.DISTRICT, parent=city)
    other = Institution(code=f"E{n}", name="上城区", kind=InstitutionKind.DISTRICT, parent=city)
    places = {
        "city": city,
        "district": home,
        "hospital": Institution(
            code=f"H{n}", name="第一人民医院", kind=InstitutionKind.BIRTHING_HOSPITAL, parent=home
        ),
        "community": Institution(
            code=f"S{n}",
            name="北山社区卫生服务中心",
            kind=InstitutionKind.COMMUNITY_HEALTH_CENTRE,
            parent=home,
        ),
        "mch": Institution(code=f"M{n}", name="区妇幼保健院", kind=InstitutionKind.MCH_CENTRE, parent=home),
        "other_district": other,
        "far_hospital": Institution(
            code=f"F{n}", name="上城区医院", kind=InstitutionKind.BIRTHING_HOSPITAL, parent=other
        ),
    }
    db.session.add_all(places.values())
    db.session.flush()
    return places


def user(role: Role = Role.CLINIC_STAFF, institution: Institution | None = None, **overrides) -> User:
    """Return a user of a role at an institution, whose password is PASSWORD."""
    global _password_hash
    _password_hash = _password_hash or hash_password(PASSWORD)  # hashing is slow: once per run
    n = unique()
    values = dict(
        username=f"user{n}",
        full_name=f"测试用户{n}",
        role=role,
        institution_id=institution.id if institution is not None else None,
        password_hash=_password_hash,
        created_at=NOW,
    )
    values.update(overrides)
    return _saved(User(**values))


def clinic_user(institution: Institution, **overrides) -> User:
    """Return a member of a clinic's staff (birthing hospital or community centre)."""
    return user(Role.CLINIC_STAFF, institution, **overrides)


# -- people -----------------------------------------------------------------------------------------


def person(institution: Institution, **overrides) -> Person:
    """Return a person registered at an institution: by default a woman born in 1990, no ID document."""
    name = overrides.pop("name", "李梅")
    pinyin, initials = pinyin_of(name)
    values = dict(
        kind=PersonKind.WOMAN,
        name=name,
        name_pinyin=pinyin,
        name_initials=initials,
        sex=Sex.FEMALE,
        birth_on=dt.date(1990, 3, 7),
        id_type=IdDocumentType.NONE,
        institution_id=institution.id,
        created_at=NOW,
    )
    values.update(overrides)
    return _saved(Person(**values))


def mother(institution: Institution, **overrides) -> Person:
    """Return a woman with a phone number, as a newborn's mother is registered."""
    overrides.setdefault("name", "王芳")
    overrides.setdefault("phone", "13812345678")
    return person(institution, **overrides)


def newborn(
    institution: Institution, born_at: dt.datetime = BIRTH, mother: Person | None = None, **overrides
) -> Person:
    """Return a baby boy born at an instant (BIRTH by default), with his mother if given."""
    overrides.setdefault("name", "王小宝")
    overrides.setdefault("sex", Sex.MALE)
    return person(
        institution,
        kind=PersonKind.NEWBORN,
        birth_on=born_at.astimezone(SHANGHAI).date(),
        birth_at=born_at,
        mother_id=mother.id if mother is not None else None,
        **overrides,
    )


# -- results and cases ------------------------------------------------------------------------------


def hearing_values(left: str = "PASS", right: str = "PASS", at: dt.datetime = BIRTH + 50 * H, **more) -> dict:
    """Return the values of an initial hearing screen by OAE, as a form or an import hands them over."""
    return {
        "screening_status": "DONE",
        "screened_at": at.isoformat(),
        "method": "OAE",
        "left_ear": left,
        "right_ear": right,
        **more,
    }


def hearing_result(
    baby: Person,
    institution: Institution,
    left: str = "PASS",
    right: str = "PASS",
    now: dt.datetime | None = None,
    actor: Actor = CLINIC,
    **more,
):
    """Record an initial hearing screen for a baby through the service; return the RecordedResult."""
    from screenings.results import record_result

    screened_at = more.pop("at", baby.birth_at + 50 * H)
    values = hearing_values(left, right, at=screened_at, **more)
    return record_result(
        baby, "NEWBORN_HEARING", "INITIAL", values, institution, actor, now or screened_at + 22 * H
    )


def referred_case(baby: Person, institution: Institution, **result):
    """Return the case a referred initial hearing screen (both ears by default) opens, at RESCREEN."""
    result.setdefault("left", "REFER")
    result.setdefault("right", "REFER")
    return hearing_result(baby, institution, **result).case


# -- imports ----------------------------------------------------------------------------------------


def import_source(institution: Institution, **overrides):
    """Return a lab system that sends files to an institution."""
    from screenings.imports.models import ImportSource

    values = dict(code=f"LIS-{unique()}", name="听力筛查设备", institution_id=institution.id, created_at=NOW)
    values.update(overrides)
    return _saved(ImportSource(**values))


def import_batch(source, created_by: User, **overrides):
    """Return a finished import of a hearing-screen CSV file from a source."""
    from screenings.imports.models import BatchStatus, FileFormat, ImportBatch

    k = unique()
    values = dict(
        source_id=source.id,
        program="NEWBORN_HEARING",
        test="INITIAL",
        institution_id=source.institution_id,
        created_by_id=created_by.id,
        created_at=NOW,
        original_filename=f"hearing-{k}.csv",
        stored_name=f"{k}.csv",
        file_format=FileFormat.CSV,
        file_size=100,
        file_sha256=f"{k:064d}",
        status=BatchStatus.DONE,
    )
    values.update(overrides)
    return _saved(ImportBatch(**values))


def unmatched_row(batch, **overrides):
    """Return a row of an import that waits for its person (no registered person matched)."""
    from screenings.imports.models import UnmatchedRow, UnmatchedStatus

    values = dict(
        batch_id=batch.id,
        institution_id=batch.institution_id,
        row_number=2,
        source_system=f"source-{batch.source_id}",
        source_key=f"S{unique()}",
        raw_values={"name": "王小宝", "birth_on": "2026-11-18"},
        reason="NOT_FOUND",
        status=UnmatchedStatus.WAITING,
    )
    values.update(overrides)
    return _saved(UnmatchedRow(**values))


def system_account(institution: Institution, *, pmtct: bool = False, **overrides) -> tuple[User, str]:
    """Return a lab system's account at an institution and the secret of a fresh API token for it."""
    from registry.auth.system_accounts import create_system_account, issue_token

    account = create_system_account(
        overrides.pop("username", f"lis{unique()}"), institution, CLINIC, NOW, restricted_programs=pmtct
    )
    return account, issue_token(account, CLINIC, NOW).secret
