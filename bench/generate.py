"""Generate a reproducible synthetic city into a migrated database: people, results, cases, events.

    DATABASE_URL=postgresql+psycopg://registry@127.0.0.1:55432/bench .venv/bin/python -m bench.generate \
        --seed 1 --scale 1.0

At scale 1.0 the city has 100,000 births a year and is followed for three years up to --as-of, with
programs.md §8's rates: every pregnancy tested for HIV, syphilis and hepatitis B, every newborn screened
for metabolic disease, hearing and heart disease, every child 0–6 screened for autism at its age
points, and the women 35–64 of a three-year two-cancer cycle at 50% coverage (§8: 150–180k women per
3,500 births). That is about 10 million results; the people it takes are about 3.6 million (see
README.md for why product.md's 1.5 million cannot hold at these rates). --scale multiplies every count.

Results are classified by the engine through value sets (bench/values.py) and cases follow journeys
walked by the engine (bench/journeys.py); a case still open at --as-of has its state derived by the
engine for that case. Everything comes from the seed: the same seed and scale give the same rows.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import enum
import json
import os
import random
import sys
import time
from collections.abc import Callable, Iterator

import sqlalchemy as sa

from bench.journeys import DAY, HOUR, Fates, JEvent, Journey, Opening, build_journeys
from bench.values import ValueLibrary, ValueSet, reference_subject
from registry.people.idnumbers import check_digit
from registry.people.protection import FieldKeys
from screenings.cases.writer import STATE_COLUMNS, derived_columns, event_row, risk_rank
from screenings.engine import (
    LOCAL_TZ,
    CaseReason,
    CaseStatus,
    EventKind,
    Sex,
    Subject,
    SubjectKind,
    derive_case_state,
    escalation_due,
    screening_window,
)
from screenings.engine.times import local_date
from screenings.programs import PROGRAMS

BENCH_PASSWORD = "Bench-Registry-2026"
SOURCE_SYSTEM = "BENCH-LIS"
DEFAULT_AS_OF = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
# The bench city's ID and phone numbers are stored encrypted, as the application stores them; bench.measure
# starts the application with this same key (FIELD_ENCRYPTION_KEY overrides it for both).
BENCH_FIELD_KEY = "b3" * 32
FIELD_KEYS = FieldKeys.from_secret(os.environ.get("FIELD_ENCRYPTION_KEY") or BENCH_FIELD_KEY)
REFERENCE_BIRTH = dt.datetime(2024, 5, 1, 3, 0, tzinfo=dt.UTC)
YEARS = 3

TABLES = {
    "person": (
        "id",
        "kind",
        "name",
        "name_pinyin",
        "name_initials",
        "sex",
        "birth_on",
        "birth_at",
        "id_type",
        "id_number",
        "id_number_index",
        "phone",
        "phone_index",
        "address",
        "household",
        "mother_id",
        "birth_order",
        "birth_certificate_number",
        "institution_id",
        "created_at",
    ),
    "pregnancy": (
        "id",
        "mother_id",
        "registered_on",
        "last_menstrual_period_on",
        "expected_delivery_on",
        "institution_id",
        "created_at",
    ),
    "screening_result": (
        "id",
        "program",
        "test",
        "person_id",
        "institution_id",
        "performed_at",
        "measured_values",
        "result_code",
        "findings",
        "rule_version",
        "exposes_infant",
        "source_system",
        "source_key",
        "entered_by_id",
        "entered_at",
    ),
    "follow_up_case": (
        "id",
        "program",
        "person_id",
        "reason",
        "opened_at",
        "opening_result_id",
        "opening_result_code",
        "first_step",
        "opening_track",
        "scheduled_due_at",
        "subject_kind",
        "subject_traits",
        "status",
        "current_step",
        "track",
        "due_at",
        "warn_at",
        "due_set_at",
        "rule_version",
        "escalated_at",
        "contact_attempts",
        "outcome",
        "closed_at",
        "state_as_of",
        "opening_institution_id",
        "responsible_institution_id",
        "transfer_to_institution_id",
        "version",
        "risk_rank",
    ),
    "case_event": (
        "id",
        "case_id",
        "kind",
        "occurred_at",
        "recorded_at",
        "recorded_by_id",
        "recorded_by_name",
        "institution_id",
        "step",
        "result_code",
        "result_id",
        "outcome",
        "channel",
        "reached",
        "contact_outcome",
        "data",
        "rule_version",
    ),
}

# -- rates (programs.md §8 unless marked [P]) ---------------------------------------------------------

# Result codes of each primary test, with their share of results.
PRIMARY_MIX = {
    ("NEWBORN_METABOLIC", "HEEL_BLOOD_SPOT"): {
        "NORMAL": 0.9795,
        "SUSPECTED_POSITIVE": 0.010,
        "RECALL": 0.003,  # §8: 1–1.5% suspected
        "UNSATISFACTORY": 0.004,
        "INFO_MISSING": 0.0015,
        "DELAYED": 0.001,
        "NOT_COLLECTED": 0.0005,
        "REFUSED": 0.0005,  # QI medians <1% (§1.6)
    },
    ("NEWBORN_HEARING", "INITIAL"): {
        "BILATERAL_PASS": 0.935,
        "UNILATERAL_REFER_L": 0.02,
        "UNILATERAL_REFER_R": 0.02,
        "BILATERAL_REFER": 0.02,
        "MISSED": 0.005,  # §8: initial not pass 4–9%
    },
    ("NEWBORN_CHD", "SCREEN"): {"SCREEN_NEG": 0.97, "SCREEN_POS": 0.02, "REPEAT_REQUIRED": 0.01},  # 1–5%
    ("CERVICAL_CANCER", "HPV"): {
        "NEG": 0.897,
        "POS_16": 0.012,
        "POS_18": 0.006,
        "POS_16_18": 0.002,
        "POS_OTHER_HR": 0.079,
        "INVALID": 0.004,  # §4.4: HPV abnormal 9.9%
    },
    ("CERVICAL_CANCER", "CYTOLOGY"): {
        "NILM": 0.957,
        "ASC_US": 0.02,
        "LSIL": 0.008,
        "ASC_H": 0.003,
        "HSIL": 0.003,
        "AGC": 0.001,
        "UNSATISFACTORY": 0.008,  # §4.4: cytology abnormal 3.7%
    },
    ("CERVICAL_CANCER", "VIA_VILI"): {"VIA_NEG": 0.9, "VIA_POS": 0.097, "VIA_SUSPECT_CANCER": 0.003},  # 10.1%
    ("BREAST_CANCER", "ULTRASOUND"): {
        "BIRADS_1": 0.62,
        "BIRADS_2": 0.32,
        "BIRADS_0": 0.01,
        "BIRADS_3": 0.04,
        "BIRADS_4A": 0.006,
        "BIRADS_4B": 0.002,
        "BIRADS_4C": 0.001,
        "BIRADS_5": 0.0008,
        "BIRADS_6": 0.0002,  # [P]
    },
    ("AUTISM", "INITIAL"): {"INITIAL_NEG": 0.93, "INITIAL_POS": 0.07},  # §8: up to 5–12%
    ("PMTCT_HIV", "HIV_SCREEN"): {
        "NEG": 0.9993,
        "REACTIVE_PENDING": 0.0004,
        "INDETERMINATE": 0.0001,
        "CONFIRMED_POS": 0.0001,
        "KNOWN_POS": 0.0001,  # §8: about 0–1 per 3,500
    },
    ("PMTCT_SYPHILIS", "SYPHILIS_SCREEN"): {
        "NEG": 0.993,
        "REACTIVE_PENDING": 0.002,
        "CURRENT": 0.0025,
        "TP_POS_NT_NEG": 0.0015,
        "TP_NEG_NT_POS": 0.001,  # §8: 2–5‰
    },
    ("PMTCT_HBV", "HBV_SCREEN"): {"HBSAG_NEG": 0.945, "HBSAG_POS": 0.055},  # §8: 5–6%
}

# Where a step's results are known to fall (§8); other steps favour the benign way out.
STEP_WEIGHTS = {
    "NEWBORN_METABOLIC": {
        "CARD_RETEST": {"BELOW_CUTOFF": 0.6, "STILL_ABOVE_CUTOFF": 0.4},
        "DIAGNOSIS": {
            "EXCLUDED": 0.55,
            "FALSE_POSITIVE": 0.35,
            "CH_PERMANENT": 0.04,
            "HYPERTHYROTROPINAEMIA": 0.03,
            "PKU_MILD": 0.01,
            "HPA_MILD": 0.01,
            "G6PD_DEF": 0.01,
        },
    },
    "NEWBORN_HEARING": {
        "RESCREEN": {
            "BILATERAL_PASS": 0.7,
            "UNILATERAL_REFER_L": 0.1,
            "UNILATERAL_REFER_R": 0.1,
            "BILATERAL_REFER": 0.1,
        },  # §2.4: rescreen fail 20–40%
        "DIAGNOSIS": {
            "NORMAL": 0.8,
            "TRANSIENT": 0.1,
            "SENSORINEURAL": 0.05,
            "PERMANENT_CONDUCTIVE": 0.03,
            "MIXED": 0.01,
            "ANSD": 0.01,
        },
    },
    "NEWBORN_CHD": {
        "POX_REPEAT": {"POX_NEG": 0.8, "POX_POS": 0.15, "POX_POS_IMMEDIATE": 0.05},
        "ECHO": {
            "NORMAL": 0.5,
            "PFO": 0.25,
            "NON_CARDIAC": 0.05,
            "CCHD": 0.04,
            "CHD_TREATMENT_NEEDED": 0.06,
            "CHD_WATCHFUL": 0.1,
        },
    },
    "CERVICAL_CANCER": {
        "CYTOLOGY_TRIAGE": {
            "NILM": 0.7,
            "ASC_US": 0.15,
            "LSIL": 0.08,
            "ASC_H": 0.03,
            "HSIL": 0.03,
            "UNSATISFACTORY": 0.01,
        },
        "COLPOSCOPY": {
            "NORMAL_ROUTINE": 0.55,
            "NORMAL_SHORT_FOLLOW_UP": 0.16,
            "LOW_GRADE": 0.17,
            "HIGH_GRADE": 0.1,
            "SUSPECT_CANCER": 0.01,
            "INADEQUATE": 0.01,
        },  # §4.4: 28.9% abnormal
        "HISTOPATHOLOGY": {
            "NORMAL_INFLAMMATION": 0.4,
            "LSIL_CIN1": 0.3,
            "HSIL_CIN2": 0.12,
            "HSIL_CIN3": 0.1,
            "AIS": 0.01,
            "MICROINVASIVE": 0.02,
            "INVASIVE_SCC": 0.03,
            "OTHER": 0.02,
        },
    },
    "BREAST_CANCER": {
        "MAMMOGRAPHY": {
            "BIRADS_1": 0.3,
            "BIRADS_2": 0.35,
            "BIRADS_3": 0.25,
            "BIRADS_0": 0.02,
            "BIRADS_4A": 0.05,
            "BIRADS_4B": 0.02,
            "BIRADS_5": 0.01,
        },
        "HISTOPATHOLOGY": {"BENIGN": 0.7, "ATYPICAL_HYPERPLASIA": 0.05, "DCIS": 0.08, "INVASIVE": 0.17},
    },
    "AUTISM": {
        "RESCREEN": {"RESCREEN_NEG": 0.7, "RESCREEN_POS": 0.2, "FOLLOW_UP_INTERVIEW_NEEDED": 0.1},
        "DIAGNOSIS": {"NOT_ASD": 0.55, "ASD": 0.15, "GDD": 0.15, "DLD": 0.1, "OTHER_DEVELOPMENTAL": 0.05},
    },
    "PMTCT_HIV": {
        "CONFIRMATION": {"NEGATIVE": 0.8, "CONFIRMED_POS": 0.15, "INDETERMINATE": 0.05},
        "EID_48H": {"NAT_NEG": 0.99, "NAT_POS": 0.01},
        "EID_6W": {"NAT_NEG": 0.99, "NAT_POS": 0.01},
        "EID_3M": {"NAT_NEG": 0.99, "NAT_POS": 0.01},
        "AB_12M": {"AB_NEG": 0.8, "AB_POS": 0.2},
        "AB_18M": {"AB_NEG": 0.99, "AB_POS": 0.01},
    },
    "PMTCT_SYPHILIS": {
        "BIRTH_ASSESSMENT": {
            "PROPHYLAXIS_GIVEN": 0.8,
            "PROPHYLAXIS_NOT_INDICATED": 0.18,
            "CS_SUSPECTED": 0.02,
        },
        **{
            f"FOLLOW_UP_{m}M": {"NOT_EXCLUDED": 0.6, "EXCLUDED": 0.39, "CS_SUSPECTED": 0.01}
            for m in (3, 6, 9, 12, 15)
        },
    },
    "PMTCT_HBV": {
        "HBV_DNA_TEST": {"HIGH_MTCT_RISK": 0.3, "LOW_MTCT_RISK": 0.7},
        "HBIG_AND_DOSE_1": {"BOTH_GIVEN": 0.97, "VACCINE_DEFERRED": 0.03},
        "SEROLOGY": {"PROTECTED": 0.94, "NON_RESPONDER": 0.05, "INFECTED": 0.01},  # §6: MTCT ≤1%
    },
}

COVERAGE = {  # share of the eligible who get the primary screen in time (§8 and the plans' targets)
    "NEWBORN_METABOLIC": 0.985,
    "NEWBORN_HEARING": 0.975,
    "NEWBORN_CHD": 0.98,
    "PMTCT": 0.985,
    "AUTISM": 0.85,
    "TWO_CANCERS": 0.5,
}
# Age of the newborn when each primary test is done, and how long until the result is entered.
NEWBORN_TESTS = {
    "NEWBORN_METABOLIC": ("HEEL_BLOOD_SPOT", (74 * HOUR, 90 * HOUR, 110 * HOUR), 4 * DAY),  # after 72 h
    "NEWBORN_HEARING": ("INITIAL", (48 * HOUR, 60 * HOUR, 70 * HOUR), 2 * HOUR),
    "NEWBORN_CHD": ("SCREEN", (8 * HOUR, 24 * HOUR, 40 * HOUR), HOUR),
}
AUTISM_POINTS = (
    ("M03", 3),
    ("M06", 6),
    ("M08", 8),
    ("M12", 12),
    ("M18", 18),
    ("M24", 24),
    ("M30", 30),
    ("M36", 36),
    ("Y4", 48),
    ("Y5", 60),
    ("Y6", 72),
)
ENTRY_DELAY = {"CERVICAL_CANCER": 10 * DAY, "BREAST_CANCER": 2 * HOUR, "AUTISM": 2 * HOUR, "PMTCT": 3 * DAY}

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢"
)
FEMALE_GIVEN = "丽娜静敏燕艳娟霞芳婷雪慧倩琳颖洁晶萍红玲佳欣怡梦瑶璐琪晓雅思"
MALE_GIVEN = "伟强磊军勇杰涛明超刚平辉鹏浩宇轩睿博文昊然泽晨阳俊"
STREETS = [
    "文三路",
    "天目山路",
    "古墩路",
    "文一西路",
    "教工路",
    "学院路",
    "莫干山路",
    "西溪路",
    "曙光路",
    "延安路",
]
OTHER_REGIONS = ["320102", "340104", "360102", "410105", "510107", "420102", "430102", "350102"]


@dataclasses.dataclass
class Shape:
    """The city's size; every count is a rate of §8 times births or women, times --scale."""

    scale: float = 1.0
    births_per_year: int = 100_000
    women_per_birth: float = 47.0  # §8: 150–180k women 35–64 per 3,500 births
    districts: int = 12

    @property
    def births(self) -> int:
        return round(self.births_per_year * YEARS * self.scale)

    @property
    def older_children(self) -> int:  # born in the six years before the window: the 0–6 cohort at start
        return round(self.births_per_year * 6 * self.scale * 0.98)

    @property
    def screened_women(self) -> int:  # one three-year cycle at COVERAGE["TWO_CANCERS"]
        return round(self.births_per_year * self.women_per_birth * COVERAGE["TWO_CANCERS"] * self.scale)

    @property
    def district_count(self) -> int:
        return max(1, min(self.districts, round(self.districts * min(1.0, self.scale) ** 0.5)))


@dataclasses.dataclass
class Facility:
    id: int
    code: str
    kind: str
    district: int
    user_id: int
    username: str


@dataclasses.dataclass
class OpenCase:
    """A case still open for its person and programme (a further positive is noted on it)."""

    id: int
    closed_at: dt.datetime | None


class Generator:
    def __init__(
        self,
        connection: sa.Connection,
        seed: int = 1,
        scale: float = 1.0,
        as_of: dt.datetime = DEFAULT_AS_OF,
        fast_load: bool = True,
        log: Callable[[str], None] = print,
        fates: Fates | None = None,
        journeys_per_opening: int = 48,
        library_draws: int = 800,
        field_keys: FieldKeys = FIELD_KEYS,
    ) -> None:
        self.field_keys = field_keys
        self.journeys_per_opening = journeys_per_opening
        self.library_draws = library_draws
        self.connection = connection
        self.seed = seed
        self.rng = random.Random(seed)
        self.shape = Shape(scale=scale)
        self.as_of = as_of
        self.start = as_of - dt.timedelta(days=365 * YEARS)
        self.log = log
        self.fates = fates or Fates()
        self.sink = Sink(connection, TABLES)
        self.fast_load = fast_load
        self.ts = self.sink.ts
        self.ids = {name: 0 for name in TABLES}
        self.libraries: dict[tuple, ValueLibrary] = {}
        self.journeys: dict[Opening, list[Journey]] = {}
        self.pinyin: dict[str, tuple[str, str]] = {}
        self.id_sequences: dict[tuple[str, dt.date], int] = {}
        self.facilities: list[Facility] = []
        self.by_district: dict[int, dict[str, list[Facility]]] = {}
        self.counts: dict[str, int] = {}
        self.open_replays = 0
        self.stamp_subjects: dict[int, Subject] = {}

    # -- plumbing --------------------------------------------------------------------------------------

    def _next(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def run(self) -> dict:
        started = time.perf_counter()
        for table in TABLES:
            self.ids[table] = self.sink.next_id(table) - 1
        empty = all(self.ids[t] == 0 for t in TABLES)
        existing = self.connection.execute(
            sa.text("SELECT COUNT(*) FROM institution WHERE code LIKE 'BENCH%'")
        ).scalar()
        if existing:
            raise SystemExit(
                "this database already holds a bench city (institution codes BENCH…): use an empty one"
            )
        self._institutions()
        self.log(f"city: {self.shape.district_count} districts, {len(self.facilities)} facilities")
        fast = self.fast_load and empty
        if fast:
            self.sink.prepare_fast_load()
        try:
            phases = [
                ("pregnancies, newborns", self._families),
                ("children 0-6", self._older_children),
                ("women 35-64", self._women),
            ]
            for label, phase in phases:
                phase_started = time.perf_counter()
                phase()
                self.sink.flush()
                self.log(f"{label}: {time.perf_counter() - phase_started:.1f} s, written {self.sink.written}")
        finally:
            self.sink.flush()
            if fast:
                self.log("rebuilding indexes and constraints:")
                rebuild_started = time.perf_counter()
                self.sink.rebuild(self.log)
                self.counts["seconds_rebuilding"] = round(time.perf_counter() - rebuild_started, 1)
        self.sink.fix_sequences()
        self.counts.update({f"rows_{t}": n for t, n in self.sink.written.items()})
        self.counts["open_case_replays"] = self.open_replays
        self.counts["seconds_writing"] = round(self.sink.seconds_writing, 1)
        self.counts["seconds_total"] = round(time.perf_counter() - started, 1)
        return self.counts

    # -- institutions and users ---------------------------------------------------------------------------

    def _institutions(self) -> None:
        from registry.auth.passwords import hash_password

        conn = self.connection
        password_hash = hash_password(BENCH_PASSWORD)
        now = self.as_of

        def institution(code, name, kind, parent):
            return conn.execute(
                sa.text(
                    "INSERT INTO institution (code, name, kind, parent_id, phone, address, active) "
                    "VALUES (:c, :n, :k, :p, :ph, :a, :t) RETURNING id"
                ),
                {
                    "c": code,
                    "n": name,
                    "k": kind,
                    "p": parent,
                    "ph": "0571-88000000",
                    "a": f"{name}地址",
                    "t": True,
                },
            ).scalar_one()

        def user(username, full_name, role, institution_id):
            return conn.execute(
                sa.text(
                    "INSERT INTO user_account (username, full_name, password_hash, role, institution_id, "
                    "active, "
                    "sees_restricted_records, failed_login_count, password_changed_at, created_at) "
                    "VALUES (:u, :f, :h, :r, :i, :t, :s, 0, :now, :now) RETURNING id"
                ),
                {
                    "u": username,
                    "f": full_name,
                    "h": password_hash,
                    "r": role,
                    "i": institution_id,
                    "t": True,
                    "s": role != "CLINIC_STAFF",
                    "now": self.ts(now),
                },
            ).scalar_one()

        city = institution("BENCH", "基准市", "CITY", None)
        plan = [
            ("MCH", "MCH_CENTRE", 1, "妇幼保健院"),
            ("H", "BIRTHING_HOSPITAL", 3, "人民医院"),
            ("C", "COMMUNITY_HEALTH_CENTRE", 10, "社区卫生服务中心"),
            ("DX", "DIAGNOSIS_CENTRE", 1, "筛查诊断中心"),
            ("LAB", "LABORATORY", 1, "临床检验中心"),
        ]
        for d in range(1, self.shape.district_count + 1):
            district_code = f"BENCH-D{d:02d}"
            district = institution(district_code, f"第{d}区", "DISTRICT", city)
            groups: dict[str, list[Facility]] = {}
            for suffix, kind, n, label in plan:
                for i in range(1, n + 1):
                    code = f"{district_code}-{suffix}{i if n > 1 else ''}"
                    fid = institution(code, f"第{d}区{label}{i if n > 1 else ''}", kind, district)
                    username = f"bench-{code[6:].lower()}"
                    uid = user(username, f"{label}{i}号用户", "CLINIC_STAFF", fid)
                    facility = Facility(fid, code, kind, d, uid, username)
                    self.facilities.append(facility)
                    groups.setdefault(kind, []).append(facility)
            mch = groups["MCH_CENTRE"][0]
            user(f"bench-d{d:02d}-coordinator", f"第{d}区随访协调员", "FOLLOW_UP_COORDINATOR", mch.id)
            user(f"bench-d{d:02d}-manager", f"第{d}区项目管理员", "PROGRAM_MANAGER", mch.id)
            self.by_district[d] = groups

    # -- people --------------------------------------------------------------------------------------------

    def _name(self, female: bool, surname: str | None = None) -> tuple[str, str, str]:
        rng = self.rng
        pool = FEMALE_GIVEN if female else MALE_GIVEN
        name = (surname or rng.choice(SURNAMES)) + "".join(
            rng.choice(pool) for _ in range(rng.choice((1, 2, 2)))
        )
        spelled = self.pinyin.get(name)
        if spelled is None:
            from registry.people.services import pinyin_of

            spelled = self.pinyin[name] = pinyin_of(name)
        return name, spelled[0], spelled[1]

    def _resident_id(self, region: str, birth_on: dt.date, female: bool) -> str | None:
        key = (region, birth_on)
        n = self.id_sequences.get(key, 0)
        if n >= 500:
            return None
        self.id_sequences[key] = n + 1
        body = f"{region}{birth_on:%Y%m%d}{n * 2 + (0 if female else 1):03d}"
        return body + check_digit(body)

    def _person(
        self,
        kind: str,
        female: bool,
        birth_on: dt.date,
        birth_at,
        home: Facility,
        created_at,
        *,
        id_number: str | None,
        surname: str | None = None,
        mother_id: int | None = None,
        birth_order: int | None = None,
        phone: str | None = None,
        address: str | None = None,
    ) -> tuple[int, str]:
        rng = self.rng
        pid = self._next("person")
        name, pinyin, initials = self._name(female, surname)
        phone = phone or f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        address = address or f"基准市第{home.district}区{rng.choice(STREETS)}{rng.randrange(1, 400)}号"
        self.sink.add(
            "person",
            (
                pid,
                kind,
                name,
                pinyin,
                initials,
                "F" if female else "M",
                birth_on.isoformat(),
                self.ts(birth_at),
                "RESIDENT_ID" if id_number else "NONE",
                self.field_keys.encrypt(id_number) if id_number else None,
                self.field_keys.document_index(id_number),
                self.field_keys.encrypt(phone),
                self.field_keys.phone_index(phone),
                address,
                "LOCAL" if rng.random() < 0.8 else "NON_LOCAL",
                mother_id,
                birth_order,
                f"R33{pid:09d}" if kind == "NEWBORN" else None,
                home.id,
                self.ts(created_at),
            ),
        )
        self.count(f"people_{kind.lower()}")
        return pid, phone

    def _region(self, district: int) -> str:
        return f"3301{district + 10:02d}" if self.rng.random() < 0.8 else self.rng.choice(OTHER_REGIONS)

    def _home(self) -> Facility:
        district = self.rng.randrange(1, self.shape.district_count + 1)
        return self.rng.choice(self.by_district[district]["COMMUNITY_HEALTH_CENTRE"])

    # -- results and cases ----------------------------------------------------------------------------------

    def _library(self, program: str, test: str, kind: SubjectKind, age: dt.timedelta) -> ValueLibrary:
        key = (program, test, kind, age)
        library = self.libraries.get(key)
        if library is None:
            rng = random.Random(f"{self.seed}-{program}-{test}-{kind}-{age}")
            library = self.libraries[key] = ValueLibrary(
                PROGRAMS[program], test, reference_subject(kind, age), rng, self.library_draws
            )
        return library

    def _pick(self, program: str, test: str, library: ValueLibrary, code: str | None = None) -> ValueSet:
        mix = PRIMARY_MIX[(program, test)]
        code = code or self.rng.choices(list(mix), list(mix.values()))[0]
        declared_opens = PROGRAMS[program].test(test).result(code).opens_case
        found = library.pick(code, self.rng, opens=declared_opens)
        if found is None:
            # The engine classified no drawn values to this code at this age: take the commonest it did.
            available = [c for c in mix if c in library.by_code] or sorted(library.by_code)
            if not available:
                raise RuntimeError(f"the engine classified no drawn values of {program}/{test}")
            self.count(f"substituted_{program}_{code}")
            found = library.pick(max(available, key=lambda c: mix.get(c, 0)), self.rng)
        return found

    def _result(
        self,
        program: str,
        test: str,
        person_id: int,
        facility: Facility,
        performed: dt.datetime,
        entered: dt.datetime,
        values: ValueSet,
    ) -> int:
        rid = self._next("screening_result")
        self.sink.add(
            "screening_result",
            (
                rid,
                program,
                test,
                person_id,
                facility.id,
                self.ts(performed),
                values.render(performed),
                values.result_code,
                values.findings_json,
                values.rule_version,
                values.exposes_infant,
                SOURCE_SYSTEM,
                f"{self.seed}-{rid}",
                facility.user_id,
                self.ts(entered),
            ),
        )
        self.count("results")
        return rid

    def _journeys(self, opening: Opening) -> list[Journey]:
        found = self.journeys.get(opening)
        if found is None:
            rng = random.Random(f"{self.seed}-{opening}")
            reference = dt.datetime(2024, 6, 1, 2, tzinfo=dt.UTC)
            if opening.age_at_open is not None:
                reference = opening.subject.birth_at + opening.age_at_open
            found = self.journeys[opening] = build_journeys(
                PROGRAMS[opening.program],
                opening.opened(reference),
                rng,
                self.journeys_per_opening,
                self.fates,
                STEP_WEIGHTS.get(opening.program),
            )
        return found

    def _open_case(
        self,
        opening: Opening,
        subject: Subject,
        person_id: int,
        opened_at: dt.datetime,
        facility: Facility,
        result_id: int | None,
        open_cases: dict[str, OpenCase],
    ) -> None:
        """Stamp one case from a journey of its opening; derive its state with the engine if still open."""
        existing = open_cases.get(opening.program)
        if existing is not None and (existing.closed_at is None or existing.closed_at > opened_at):
            # One open case per person and programme: a further positive is a note on it (as in services).
            self._event(
                existing.id,
                EventKind.NOTE,
                opened_at,
                facility,
                PROGRAMS[opening.program].rule_version,
                result_id=result_id,
                result_code=opening.result_code,
            )
            return
        program = PROGRAMS[opening.program]
        journey = self.rng.choice(self._journeys(opening))
        cid = self._next("follow_up_case")
        opened = opening.opened(opened_at, subject)
        self._event(
            cid,
            EventKind.OPENED,
            opened_at,
            facility,
            program.rule_version,
            step=opening.first_step,
            result_id=result_id,
            result_code=opening.result_code,
        )
        happened: list[JEvent] = []
        for event in journey.events:
            at = opened_at + event.offset
            if at > self.as_of:
                break
            happened.append(event)
        complete = len(happened) == len(journey.events)
        escalation: dt.datetime | None = None
        if complete and journey.closed:
            closed_at = opened_at + journey.duration
            state_values = {
                "status": CaseStatus.CLOSED.value,
                "current_step": None,
                "track": journey.track,
                "due_at": None,
                "warn_at": None,
                "due_set_at": None,
                "rule_version": program.rule_version,
                "escalated_at": None,
                "contact_attempts": 0,
                "risk_rank": risk_rank(opening.reason, journey.final_state),
                "outcome": journey.outcome.value,
                "closed_at": self.ts(closed_at),
                "transfer_to_institution_id": None,
                "responsible_institution_id": facility.id,
            }
            self.count("cases_closed")
        else:
            closed_at = None
            facts = [e.fact(opened_at) for e in happened]
            state = derive_case_state(program, opened, facts, self.as_of)
            if escalation_due(program, state, self.as_of):
                # The daily sweep would have escalated it a week after the due date.
                threshold = program.values(None).whole(program.escalate_after_days)
                escalation = state.due_at + dt.timedelta(days=threshold, hours=1)
                facts.append(
                    JEvent(EventKind.ESCALATED, escalation - opened_at, step=state.current_step).fact(
                        opened_at
                    )
                )
                state = derive_case_state(program, opened, facts, self.as_of)
            self.open_replays += 1
            # The stored columns are what the application's one writer derives from the engine's state.
            derived = derived_columns(opening.reason, facility.id, state, ())
            state_values = {column: self._cell(derived[column]) for column in STATE_COLUMNS}
            self.count(f"cases_open_{state.status.value.lower()}")
        open_cases[opening.program] = OpenCase(cid, closed_at)
        for event in happened:
            self._journey_event(cid, event, opened_at, facility, program, person_id, subject)
        if escalation is not None:
            self._event(
                cid, EventKind.ESCALATED, escalation, None, program.rule_version, step=state.current_step
            )
        assert state_values.keys() == set(STATE_COLUMNS), "a closed case must set every stored state column"
        row = {
            "id": cid,
            "program": program.code,
            "person_id": person_id,
            "reason": opening.reason.value,
            "opened_at": self.ts(opened_at),
            "opening_result_id": result_id,
            "opening_result_code": opening.result_code,
            "first_step": opening.first_step,
            "opening_track": opening.track,
            "scheduled_due_at": self.ts(opened.scheduled_due_at),
            "subject_kind": subject.kind.value,
            "subject_traits": json.dumps(subject.traits.as_json()),
            **state_values,
            "state_as_of": self.ts(self.as_of),
            "opening_institution_id": facility.id,
            "version": 1 + len(happened),
        }
        self.sink.add("follow_up_case", tuple(row[column] for column in TABLES["follow_up_case"]))
        self.count("cases")

    def _journey_event(self, cid, event: JEvent, opened_at, facility, program, person_id, subject) -> None:
        at = opened_at + event.offset
        result_id = None
        if event.test is not None and event.kind is EventKind.STEP_RESULT:
            library = self._library(
                program.code, event.test, subject.kind, self._library_age(program.code, subject, at)
            )
            values = library.pick(event.result_code, self.rng)
            if values is not None:
                result_id = self._result(program.code, event.test, person_id, facility, at, at, values)
        self._event(
            cid,
            event.kind,
            at,
            None if event.by_system else facility,
            program.rule_version,
            step=event.step,
            result_code=event.result_code,
            result_id=result_id,
            outcome=event.outcome,
            channel=event.channel,
            reached=event.reached,
            contact_outcome=event.contact_outcome,
        )

    def _library_age(self, program: str, subject: Subject, at: dt.datetime) -> dt.timedelta:
        # Step tests are classified at one reference age per month of age: close enough for their rules.
        if subject.kind in (SubjectKind.WOMAN, SubjectKind.PREGNANT_WOMAN):
            return dt.timedelta(days=365 * 40)
        birth = subject.birth_at or dt.datetime.combine(subject.birth_on, dt.time(12), LOCAL_TZ)
        months = max(0, (at - birth).days // 30)
        months = months if months < 3 else months // 12 * 12 + 3  # by the month while small, then by years
        return dt.timedelta(days=30 * months + 1)

    def _event(
        self,
        cid,
        kind: EventKind,
        at,
        facility: Facility | None,
        rule_version: str,
        *,
        step=None,
        result_code=None,
        result_id=None,
        outcome=None,
        channel=None,
        reached=None,
        contact_outcome=None,
    ) -> None:
        eid = self._next("case_event")
        by_system = facility is None
        # The same row builder as every writer of the application, then laid out in the sink's columns.
        row = event_row(
            cid,
            kind,
            at,
            recorded_at=at + dt.timedelta(minutes=3),
            recorded_by_id=None if by_system else facility.user_id,
            recorded_by_name="system:sweep" if by_system else facility.username,
            rule_version=rule_version,
            institution_id=None if by_system else facility.id,
            step=step,
            result_code=result_code,
            result_id=result_id,
            outcome=outcome,
            channel=channel,
            reached=reached,
            contact_outcome=contact_outcome,
        )
        row["id"] = eid
        self.sink.add("case_event", tuple(self._cell(row[column]) for column in TABLES["case_event"]))
        self.count("events")

    def _cell(self, value: object) -> object:
        """Return a column value as the sink writes it: timestamps formatted, enums by value, JSON as text."""
        if isinstance(value, dt.datetime):
            return self.ts(value)
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, dict):
            return json.dumps(value)
        return value

    def _screen(
        self,
        program: str,
        test: str,
        person_id: int,
        subject: Subject,
        facility: Facility,
        performed: dt.datetime,
        entry_delay: dt.timedelta,
        library: ValueLibrary,
        open_cases: dict[str, OpenCase],
        code: str | None = None,
        age_at_open: bool = False,
    ) -> ValueSet | None:
        """One primary result, and the case it opens (programs.md's positivity picks the code)."""
        entered = performed + entry_delay
        if entered > self.as_of:
            return None
        values = self._pick(program, test, library, code)
        rid = self._result(program, test, person_id, facility, performed, entered, values)
        if values.opens_case:
            case_subject = subject.told(values.traits)
            opening = Opening(
                program=program,
                reason=values.case_reason,
                first_step=values.first_step,
                track=values.track,
                subject=self._reference(case_subject) if age_at_open else self._adult_reference(case_subject),
                age_at_open=(entered - subject.birth_at) if age_at_open else None,
                scheduled_offset=None
                if values.scheduled_offset is None
                else values.scheduled_offset - entry_delay,
                result_code=values.result_code,
            )
            self._open_case(opening, case_subject, person_id, entered, facility, rid, open_cases)
        return values

    def _reference(self, subject: Subject) -> Subject:
        """The subject a newborn journey is walked for: same kind, sex and extras, born at a fixed moment.

        Newborn and infant deadlines are ages, so a journey is shared only by cases opened at the same
        age; the opening's age_at_open carries that."""
        return Subject(
            subject.kind,
            subject.sex,
            REFERENCE_BIRTH,
            local_date(REFERENCE_BIRTH),
            subject.traits,
        )

    def _adult_reference(self, subject: Subject) -> Subject:
        # Adult and child deadlines here are relative, so one reference subject serves every age.
        return Subject(subject.kind, subject.sex, None, dt.date(1980, 1, 1), subject.traits)

    # -- population groups ---------------------------------------------------------------------------------

    def _families(self) -> None:
        """Pregnancies with PMTCT tests, births, newborn screens, exposed infants, autism screens."""
        rng = self.rng
        births = self.shape.births
        # Pregnancies whose delivery falls in the window, and those still pregnant at --as-of.
        pregnancies = round(births * (1 + 0.25))
        span = (self.as_of + dt.timedelta(days=90) - self.start).total_seconds()
        for _ in range(pregnancies):
            due_at = self.start + dt.timedelta(seconds=rng.random() * span)
            registered = due_at - dt.timedelta(days=rng.uniform(200, 250))
            if registered > self.as_of:
                continue
            home = self._home()
            district = self.by_district[home.district]
            age_years = min(44, max(19, rng.gauss(30, 4.5)))
            birth_on = (registered - dt.timedelta(days=365.25 * age_years)).date()
            created = registered
            mother, phone = self._person(
                "WOMAN",
                True,
                birth_on,
                None,
                home,
                created,
                id_number=self._resident_id(self._region(home.district), birth_on, True),
            )
            self.sink.add(
                "pregnancy",
                (
                    self._next("pregnancy"),
                    mother,
                    local_date(registered).isoformat(),
                    (local_date(due_at) - dt.timedelta(days=280)).isoformat(),
                    local_date(due_at).isoformat(),
                    home.id,
                    self.ts(created),
                ),
            )
            self.count("pregnancies")
            subject = Subject(SubjectKind.PREGNANT_WOMAN, Sex.FEMALE, None, birth_on)
            open_cases: dict[str, OpenCase] = {}
            exposing: set[str] = set()
            if rng.random() < COVERAGE["PMTCT"]:
                tested = registered + dt.timedelta(days=rng.uniform(0, 10), hours=rng.uniform(0, 8))
                for program, test in (
                    ("PMTCT_HIV", "HIV_SCREEN"),
                    ("PMTCT_SYPHILIS", "SYPHILIS_SCREEN"),
                    ("PMTCT_HBV", "HBV_SCREEN"),
                ):
                    library = self._library(
                        program, test, SubjectKind.PREGNANT_WOMAN, dt.timedelta(days=365 * 30)
                    )
                    performed = _local_noon(tested)
                    values = self._screen(
                        program,
                        test,
                        mother,
                        subject,
                        home,
                        performed,
                        ENTRY_DELAY["PMTCT"],
                        library,
                        open_cases,
                    )
                    if values is not None and values.exposes_infant:
                        exposing.add(program)
            birth_at = due_at + dt.timedelta(days=rng.uniform(-14, 7))
            if birth_at > self.as_of:
                continue
            hospital = rng.choice(district["BIRTHING_HOSPITAL"])
            surname = rng.choice(SURNAMES)
            for order in range(1, 3 if rng.random() < 0.015 else 2):
                self._newborn(
                    mother,
                    phone,
                    surname,
                    order,
                    birth_at + dt.timedelta(minutes=order - 1),
                    home,
                    hospital,
                    exposing,
                )
            self.sink.maybe_flush()

    def _newborn(self, mother, phone, surname, order, birth_at, home, hospital, exposing: set[str]) -> None:
        rng = self.rng
        female = rng.random() < 0.48
        birth_on = local_date(birth_at)
        created = birth_at + dt.timedelta(hours=rng.randint(1, 6))  # whole hours: openings share journeys
        child, _ = self._person(
            "NEWBORN",
            female,
            birth_on,
            birth_at,
            hospital,
            created,
            id_number=None,
            surname=surname,
            mother_id=mother,
            birth_order=order,
            phone=phone,
        )
        subject = Subject(SubjectKind.NEWBORN, Sex.FEMALE if female else Sex.MALE, birth_at, birth_on)
        open_cases: dict[str, OpenCase] = {}
        for program, (test, ages, delay) in NEWBORN_TESTS.items():
            if rng.random() < COVERAGE[program]:
                age = rng.choice(ages)
                library = self._library(program, test, SubjectKind.NEWBORN, age)
                performed = birth_at + library.age_at_test
                self._screen(
                    program,
                    test,
                    child,
                    subject,
                    hospital,
                    performed,
                    delay,
                    library,
                    open_cases,
                    age_at_open=True,
                )
            else:
                self._missed_screening(program, child, subject, hospital, open_cases)
        for program in sorted(exposing):
            infant = Subject(SubjectKind.EXPOSED_INFANT, subject.sex, birth_at, birth_on)
            plan = PROGRAMS[program].exposed_infant
            opening = Opening(
                program,
                CaseReason.EXPOSED_INFANT,
                plan.first_step,
                None,
                self._reference(infant),
                created - birth_at,
                None,
                None,
            )
            if created <= self.as_of:
                self._open_case(opening, infant, child, created, hospital, None, open_cases)
        self._autism(child, birth_at, birth_on, female, home)

    def _missed_screening(self, program, child, subject, hospital, open_cases) -> None:
        """No primary screen in the window: the sweep opens a 漏筛 case the day after it is missed."""
        window = screening_window(PROGRAMS[program], subject)
        # Whole hours after the window closed, so that openings share journeys (their ages are exact).
        opened_at = window.missed_after + dt.timedelta(hours=self.rng.choice((2, 8, 14, 20)))
        if opened_at > self.as_of:
            return
        spec = PROGRAMS[program].screening_window
        opening = Opening(
            program,
            CaseReason.MISSED_SCREENING,
            spec.missed_step,
            spec.missed_track,
            self._reference(subject),
            opened_at - subject.birth_at,
            None,
            None,
        )
        self._open_case(opening, subject, child, opened_at, hospital, None, open_cases)
        self.count("cases_missed_screening")

    def _autism(self, child, birth_at, birth_on, female, home) -> None:
        rng = self.rng
        subject = Subject(SubjectKind.CHILD, Sex.FEMALE if female else Sex.MALE, birth_at, birth_on)
        open_cases: dict[str, OpenCase] = {}
        anchor = birth_at or dt.datetime.combine(birth_on, dt.time(12), LOCAL_TZ).astimezone(dt.UTC)
        for point, months in AUTISM_POINTS:
            performed = _local_noon(anchor + dt.timedelta(days=months * 30.44 + rng.uniform(0, 20)))
            if performed < self.start or performed > self.as_of or rng.random() > COVERAGE["AUTISM"]:
                continue
            library = self._library(
                "AUTISM", "INITIAL", SubjectKind.CHILD, dt.timedelta(days=round(months * 30.44) + 10)
            )
            values = self._pick_autism(library, point)
            rid_values = values
            entered = performed + ENTRY_DELAY["AUTISM"]
            if entered > self.as_of:
                continue
            rid = self._result("AUTISM", "INITIAL", child, home, performed, entered, rid_values)
            if values.opens_case:
                opening = Opening(
                    "AUTISM",
                    values.case_reason,
                    values.first_step,
                    values.track,
                    self._adult_reference(subject),
                    None,
                    None,
                    values.result_code,
                )
                self._open_case(opening, subject, child, entered, home, rid, open_cases)
        self.sink.maybe_flush()

    def _pick_autism(self, library: ValueLibrary, point: str) -> ValueSet:
        mix = PRIMARY_MIX[("AUTISM", "INITIAL")]
        code = self.rng.choices(list(mix), list(mix.values()))[0]
        matching = library.with_value(code, "age_point", point)
        if matching:
            return self.rng.choice(matching)
        return self._pick("AUTISM", "INITIAL", library, code)

    def _older_children(self) -> None:
        rng = self.rng
        for _ in range(self.shape.older_children):
            birth_at = self.start - dt.timedelta(days=rng.uniform(0, 365 * 6))
            birth_on = local_date(birth_at)
            home = self._home()
            female = rng.random() < 0.48
            created = max(self.start, birth_at + dt.timedelta(days=90))
            child, _ = self._person(
                "CHILD",
                female,
                birth_on,
                None,
                home,
                created,
                id_number=self._resident_id(self._region(home.district), birth_on, female),
            )
            self._autism(child, None, birth_on, female, home)

    def _women(self) -> None:
        rng = self.rng
        for _ in range(self.shape.screened_women):
            home = self._home()
            age_years = rng.uniform(35, 64)
            screened = self.start + dt.timedelta(days=rng.uniform(0, 365 * YEARS))
            birth_on = (screened - dt.timedelta(days=365.25 * age_years)).date()
            woman, _ = self._person(
                "WOMAN",
                True,
                birth_on,
                None,
                home,
                screened,
                id_number=self._resident_id(self._region(home.district), birth_on, True),
            )
            subject = Subject(SubjectKind.WOMAN, Sex.FEMALE, None, birth_on)
            open_cases: dict[str, OpenCase] = {}
            performed = _local_noon(screened)
            roll = rng.random()
            test = "HPV" if roll < 0.85 else "CYTOLOGY" if roll < 0.95 else "VIA_VILI"
            library = self._library("CERVICAL_CANCER", test, SubjectKind.WOMAN, dt.timedelta(days=365 * 45))
            self._screen(
                "CERVICAL_CANCER",
                test,
                woman,
                subject,
                home,
                performed,
                ENTRY_DELAY["CERVICAL_CANCER"],
                library,
                open_cases,
            )
            library = self._library(
                "BREAST_CANCER", "ULTRASOUND", SubjectKind.WOMAN, dt.timedelta(days=365 * 45)
            )
            self._screen(
                "BREAST_CANCER",
                "ULTRASOUND",
                woman,
                subject,
                home,
                performed,
                ENTRY_DELAY["BREAST_CANCER"],
                library,
                open_cases,
            )
            self.sink.maybe_flush()


def _local_noon(moment: dt.datetime) -> dt.datetime:
    return dt.datetime.combine(local_date(moment), dt.time(12), LOCAL_TZ).astimezone(dt.UTC)


from bench.sink import Sink  # noqa: E402  (kept below the tables it is built from)


def generate(connection: sa.Connection, **options) -> dict:
    """Generate the city into the database of `connection`, inside the caller's transaction."""
    return Generator(connection, **options).run()


def _prepare_sqlite(connection: sa.Connection) -> None:
    raw = connection.connection.driver_connection
    raw.execute("PRAGMA synchronous=OFF")
    raw.execute("PRAGMA cache_size=-1000000")
    raw.execute("PRAGMA temp_store=MEMORY")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL"), help="default: $DATABASE_URL"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = a city of 100,000 births a year")
    parser.add_argument("--as-of", default=DEFAULT_AS_OF.isoformat(), help="end of the three years (UTC)")
    parser.add_argument("--no-fast-load", action="store_true", help="keep indexes while loading")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error(
            "give --database-url or set DATABASE_URL (a database migrated with `registry db upgrade`)"
        )
    as_of = dt.datetime.fromisoformat(args.as_of)
    if as_of.utcoffset() is None:
        as_of = as_of.replace(tzinfo=dt.UTC)
    engine = sa.create_engine(_driver_url(args.database_url))
    started = time.perf_counter()
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            _prepare_sqlite(connection)
        with connection.begin():
            counts = generate(
                connection,
                seed=args.seed,
                scale=args.scale,
                as_of=as_of,
                fast_load=not args.no_fast_load,
                log=lambda line: print(line, flush=True),
            )
        analyze_started = time.perf_counter()
        if connection.dialect.name == "postgresql":
            # A city made only by bulk loads has no visibility map, which autovacuum gives a production
            # database: without it no index-only scan is possible (the worklist's tab counts read 12,389 heap
            # blocks for 267 index pages at scale 1.0). VACUUM cannot run inside a transaction.
            connection.commit()
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM (ANALYZE)"))
        else:
            connection.execute(sa.text("ANALYZE"))
            connection.commit()
        counts["seconds_analyze"] = round(time.perf_counter() - analyze_started, 1)
    counts["seconds_with_commit"] = round(time.perf_counter() - started, 1)
    print(json.dumps(counts, indent=1, sort_keys=True))
    return 0


def _driver_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def iter_tables() -> Iterator[str]:
    return iter(TABLES)


if __name__ == "__main__":
    sys.exit(main())
