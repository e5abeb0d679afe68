"""A demo district so that nothing is empty on first run: institutions, a user per role, families."""

import datetime as dt
import random

import sqlalchemy as sa

from registry import audit, clock
from registry.audit import Actor
from registry.auth.models import Role, User
from registry.auth.passwords import hash_password
from registry.extensions import db
from registry.institutions import Institution, InstitutionKind
from registry.people.idnumbers import check_digit
from registry.people.models import Household, IdDocumentType, Person, PersonKind, Pregnancy, Sex
from registry.people.services import pinyin_of

DEMO_PASSWORD = "Demo-Registry-2026"
DISTRICT_REGION = "330106"
OTHER_REGIONS = ["330102", "330105", "330108", "330110", "320102", "340104", "360102", "410105", "510107"]

INSTITUTIONS = [
    # code, name, kind, parent code
    ("3301", "杭州市", InstitutionKind.CITY, None),
    ("330106", "西湖区", InstitutionKind.DISTRICT, "3301"),
    ("XH-MCH", "西湖区妇幼保健院", InstitutionKind.MCH_CENTRE, "330106"),
    ("XH-H01", "西湖区第一人民医院", InstitutionKind.BIRTHING_HOSPITAL, "330106"),
    ("XH-H02", "西湖区妇产医院", InstitutionKind.BIRTHING_HOSPITAL, "330106"),
    ("XH-C01", "北山街道社区卫生服务中心", InstitutionKind.COMMUNITY_HEALTH_CENTRE, "330106"),
    ("XH-C02", "西溪街道社区卫生服务中心", InstitutionKind.COMMUNITY_HEALTH_CENTRE, "330106"),
    ("XH-C03", "翠苑街道社区卫生服务中心", InstitutionKind.COMMUNITY_HEALTH_CENTRE, "330106"),
    ("XH-DX", "西湖区新生儿疾病筛查诊断中心", InstitutionKind.DIAGNOSIS_CENTRE, "330106"),
    ("XH-LAB", "西湖区临床检验中心", InstitutionKind.LABORATORY, "330106"),
]
USERS = [
    # username, full name, role, institution code
    ("clinic", "王丽", Role.CLINIC_STAFF, "XH-H01"),
    ("community", "陈静", Role.CLINIC_STAFF, "XH-C01"),
    ("coordinator", "李娜", Role.FOLLOW_UP_COORDINATOR, "XH-MCH"),
    ("manager", "张伟", Role.PROGRAM_MANAGER, "XH-MCH"),
    ("admin", "刘洋", Role.SYSTEM_ADMIN, "XH-MCH"),
    ("auditor", "赵敏", Role.AUDITOR, "XH-MCH"),
]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢"
)
FEMALE_GIVEN = "丽娜静敏燕艳娟霞芳婷雪慧倩琳颖洁晶萍红玲佳欣怡梦瑶璐琪晓雅思"
MALE_GIVEN = "伟强磊军勇杰涛明超刚平辉鹏浩宇轩睿博文昊然泽晨阳俊"
STREETS = ["文三路", "天目山路", "古墩路", "文一西路", "教工路", "学院路", "莫干山路", "西溪路", "曙光路"]
FACILITY_CODES = ["XH-H01", "XH-H02", "XH-C01", "XH-C02", "XH-C03", "XH-MCH"]


def resident_id(region: str, birth_on: dt.date, female: bool, rng: random.Random) -> str:
    sequence = rng.randrange(0, 100) * 10 + rng.choice([0, 2, 4, 6, 8] if female else [1, 3, 5, 7, 9])
    body = f"{region}{birth_on:%Y%m%d}{sequence:03d}"
    return body + check_digit(body)


def mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"


def given_name(rng: random.Random, female: bool) -> str:
    pool = FEMALE_GIVEN if female else MALE_GIVEN
    return "".join(rng.choice(pool) for _ in range(rng.choice([1, 2, 2])))


def _person(rng, name, kind, sex, birth_on, institution_id, now, **extra) -> Person:
    pinyin, initials = pinyin_of(name)
    return Person(
        name=name,
        name_pinyin=pinyin,
        name_initials=initials,
        kind=kind,
        sex=sex,
        birth_on=birth_on,
        institution_id=institution_id,
        created_at=now,
        **extra,
    )


def load_demo_data(seed: int = 2026, women: int = 3000, now: dt.datetime | None = None) -> dict:
    """Create the demo district in one transaction; refuses to run twice."""
    now = now or clock.now()
    if db.session.scalar(sa.select(Institution.id).where(Institution.code == "330106")) is not None:
        raise RuntimeError("the demo district is already loaded")
    rng = random.Random(seed)
    actor = Actor.system("demo-data")
    by_code: dict[str, Institution] = {}
    for code, name, kind, parent in INSTITUTIONS:
        institution = Institution(
            code=code,
            name=name,
            kind=kind,
            parent=by_code.get(parent),
            phone=f"0571-{rng.randrange(10**7, 10**8)}",
            address=f"杭州市西湖区{rng.choice(STREETS)}{rng.randrange(1, 400)}号",
        )
        by_code[code] = institution
        db.session.add(institution)
    db.session.flush()
    password_hash = hash_password(DEMO_PASSWORD)
    for username, full_name, role, code in USERS:
        db.session.add(
            User(
                username=username,
                full_name=full_name,
                role=role,
                institution_id=by_code[code].id,
                password_hash=password_hash,
                created_at=now,
                password_changed_at=now,
                # The hospital's clinic and the district coordinator work on PMTCT; the others must
                # state a reason to open those records.
                sees_restricted_records=username in ("clinic", "coordinator"),
            )
        )
    today = now.date()
    people, newborns, pregnancies = [], 0, 0
    used_ids: set[str] = set()
    for index in range(women):
        age_days = rng.randrange(20 * 365, 64 * 365)
        birth_on = today - dt.timedelta(days=age_days)
        local = rng.random() < 0.75
        region = DISTRICT_REGION if local else rng.choice(OTHER_REGIONS)
        number = resident_id(region, birth_on, True, rng)
        if number in used_ids:
            continue
        used_ids.add(number)
        facility = by_code[FACILITY_CODES[index % len(FACILITY_CODES)]]
        mother = _person(
            rng,
            rng.choice(SURNAMES) + given_name(rng, True),
            PersonKind.WOMAN,
            Sex.FEMALE,
            birth_on,
            facility.id,
            now,
            id_type=IdDocumentType.RESIDENT_ID,
            id_number=number,
            phone=mobile(rng),
            address=f"杭州市西湖区{rng.choice(STREETS)}{rng.randrange(1, 400)}号{rng.randrange(1, 30)}幢",
            household=Household.LOCAL if local else Household.NON_LOCAL,
        )
        people.append(mother)
        age_years = age_days / 365.25
        if 22 <= age_years <= 40 and rng.random() < 0.35:
            # A recent birth at one of the birthing hospitals, sometimes twins.
            hospital = by_code[rng.choice(["XH-H01", "XH-H02"])]
            birth_at = now - dt.timedelta(hours=rng.randrange(6, 24 * 120))
            surname = rng.choice(SURNAMES)
            for order in range(1, 3 if rng.random() < 0.03 else 2):
                female = rng.random() < 0.48
                child = _person(
                    rng,
                    surname + given_name(rng, female),
                    PersonKind.NEWBORN,
                    Sex.FEMALE if female else Sex.MALE,
                    birth_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date(),
                    hospital.id,
                    now,
                    birth_at=birth_at + dt.timedelta(minutes=order - 1),
                    mother=mother,
                    birth_order=order,
                    birth_certificate_number=f"R33{rng.randrange(10**8):08d}",
                    address=mother.address,
                    phone=mother.phone,
                    household=mother.household,
                )
                people.append(child)
                newborns += 1
        elif 22 <= age_years <= 40 and rng.random() < 0.15:
            due = today + dt.timedelta(days=rng.randrange(10, 260))
            db.session.add(
                Pregnancy(
                    mother=mother,
                    registered_on=due - dt.timedelta(days=rng.randrange(200, 270)),
                    expected_delivery_on=due,
                    last_menstrual_period_on=due - dt.timedelta(days=280),
                    institution_id=facility.id,
                    created_at=now,
                )
            )
            pregnancies += 1
    db.session.add_all(people)
    db.session.flush()
    audit.record(actor, now, "demo", None, "CREATE", f"{len(people)} people, {pregnancies} pregnancies")
    db.session.commit()
    return {
        "institutions": len(INSTITUTIONS),
        "people": len(people),
        "newborns": newborns,
        "pregnancies": pregnancies,
        "usernames": [u[0] for u in USERS],
    }
