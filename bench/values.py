"""Value sets that the engine itself classified, to stamp out millions of results without classifying each.

For every test, random plausible inputs are drawn from the field declarations and classified with
`screenings.engine.classify` for a reference subject; each value set is kept under the result code and
case opening the engine gave it. A generated result picks a result code by the programme's positivity
(programs.md §8) and then one of the value sets classified to that code, so what is stored is exactly
what the real path would have stored for those values, at the same age of the subject.

Times inside the values are kept as offsets from the moment the test was done and rendered per row:
the engine's rules read ages and intervals, never the calendar date, so shifting them is safe.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
from collections.abc import Mapping
from decimal import Decimal

from screenings.engine import (
    LOCAL_TZ,
    NO_TRAITS,
    CaseReason,
    Classification,
    FieldKind,
    Program,
    Sex,
    Subject,
    SubjectKind,
    Traits,
    classify,
)
from screenings.engine.times import local_date

# A stand-in moment for the reference subjects; every stored time is an offset from the test moment.
REFERENCE = dt.datetime(2024, 6, 15, 2, 30, tzinfo=dt.UTC)
_PLACEHOLDER = "\x00{}\x00"


@dataclasses.dataclass(frozen=True)
class ValueSet:
    """One engine-classified set of values, ready to render for any test moment."""

    result_code: str
    opens_case: bool
    case_reason: CaseReason | None
    first_step: str | None
    track: str | None
    exposes_infant: bool
    rule_version: str
    findings_json: str
    # measured_values JSON split around its times: parts[0] + t0 + parts[1] + t1 + ...
    parts: tuple[str, ...]
    offsets: tuple[tuple[dt.timedelta, bool], ...]  # (offset from the test moment, is a date)
    scheduled_offset: dt.timedelta | None  # a booked date for the first step, from the test moment
    traits: Traits = NO_TRAITS  # what the values told of the subject (the test's subject_traits)

    def render(self, performed: dt.datetime) -> str:
        """Return the measured_values JSON for a test done at `performed` (aware UTC)."""
        if not self.offsets:
            return self.parts[0]
        out = [self.parts[0]]
        for (offset, is_date), part in zip(self.offsets, self.parts[1:], strict=True):
            moment = performed + offset
            out.append(local_date(moment).isoformat() if is_date else moment.isoformat())
            out.append(part)
        return "".join(out)


def _jsonable(value: object) -> object:
    # The same conversion screenings.results uses when it stores measured values.
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | list | frozenset | set):
        return [_jsonable(v) for v in value]
    return value


def _draw(field, rng: random.Random, performed: dt.datetime, raw: Mapping[str, object]) -> object:
    kind = field.kind
    if kind is FieldKind.CHOICE:
        return rng.choice(field.choices).code
    if kind is FieldKind.MULTI_CHOICE:
        if rng.random() < 0.8:
            return ()
        return tuple(c.code for c in rng.sample(field.choices, k=rng.choice([1, 1, 2])))
    if kind is FieldKind.BOOLEAN:
        return rng.random() < 0.25
    if kind in (FieldKind.INTEGER, FieldKind.DECIMAL):
        low = Decimal(field.min_value if field.min_value is not None else 0)
        high = Decimal(field.max_value if field.max_value is not None else 100)
        # Most analytes sit near the bottom of their plausible range; the fourth power skews there.
        fraction = Decimal(str(round(rng.random() ** 4, 4)))
        value = low + (high - low) * fraction
        if kind is FieldKind.INTEGER:
            return int(value)
        return value.quantize(Decimal("0.1"))
    if kind is FieldKind.DATETIME:
        return performed + dt.timedelta(hours=rng.choice([2, 3, 4]))
    if kind is FieldKind.DATE:
        return local_date(performed) + dt.timedelta(days=rng.choice([3, 7, 14]))
    if kind is FieldKind.TEXT:
        return "bench"
    raise ValueError(f"no draw for field kind {kind}")


# Starting points that make rare but needed result codes likely; the rest of the values stay random.
HINTS: dict[tuple[str, str], tuple[dict[str, object], ...]] = {
    ("NEWBORN_METABOLIC", "HEEL_BLOOD_SPOT"): (
        {
            "collection_status": "COLLECTED",
            "specimen_quality": "ADEQUATE",
            "key_info_complete": True,
            "feeds_count": 8,
            "spot_count": 3,
            "phe_umol_l": "60",
            "tsh_miu_l": "3",
            "ohp17_nmol_l": "8",
            "g6pd_u_g_hb": "9",
            "msms_result": "NORMAL",
        },
        {
            "collection_status": "COLLECTED",
            "specimen_quality": "ADEQUATE",
            "key_info_complete": False,
            "feeds_count": 8,
            "spot_count": 3,
        },
    ),
    ("NEWBORN_CHD", "SCREEN"): (
        {"murmur_grade": 0, "spo2_right_hand": "98", "spo2_foot": "98", "symptomatic": False},
        {"murmur_grade": 0, "spo2_right_hand": "93", "spo2_foot": "92", "symptomatic": False},
    ),
    ("CERVICAL_CANCER", "HPV"): (
        {"hpv_result": "POSITIVE", "hpv_types": ("HPV16", "HPV18")},
        {"hpv_result": "POSITIVE", "hpv_types": ("HPV16",)},
        {"hpv_result": "POSITIVE", "hpv_types": ("HPV18",)},
    ),
    ("AUTISM", "RESCREEN"): ({f"mchat_{i:02d}": i <= 4 for i in range(1, 21)},),
}


def draw_values(program: Program, test_code: str, performed: dt.datetime, rng: random.Random) -> dict:
    """Draw one random, plausible set of raw values for a test done at `performed`."""
    test = program.test(test_code)
    raw: dict[str, object] = {}
    # Half the draws leave out nearly every optional field: a normal result usually reports little.
    skip_optional = 0.5 if rng.random() < 0.5 else 0.95
    hints = HINTS.get((program.code, test_code), ())
    hint = rng.choice(hints) if hints and rng.random() < 0.6 else {}
    for field in test.fields:
        if field.name in hint:
            raw[field.name] = hint[field.name]
            continue
        if field.name == test.performed_field:
            raw[field.name] = local_date(performed) if field.kind is FieldKind.DATE else performed
            continue
        if field.required_when is not None:
            other, codes = field.required_when
            if raw.get(other) not in codes:
                continue
        elif not field.required and rng.random() < skip_optional:
            continue
        raw[field.name] = _draw(field, rng, performed, raw)
    return raw


def _value_set(classification: Classification, performed: dt.datetime) -> ValueSet:
    offsets: list[tuple[dt.timedelta, bool]] = []
    values = {}
    for name, value in classification.values.items():
        if isinstance(value, dt.datetime):
            values[name] = _PLACEHOLDER.format(len(offsets))
            offsets.append((value - performed, False))
        elif isinstance(value, dt.date):
            values[name] = _PLACEHOLDER.format(len(offsets))
            noon = dt.datetime.combine(value, dt.time(12), LOCAL_TZ)
            offsets.append((noon - performed, True))
        else:
            values[name] = _jsonable(value)
    text = json.dumps(values, ensure_ascii=False)
    parts = [text]
    for index in range(len(offsets)):
        head, _, tail = parts[-1].partition(json.dumps(_PLACEHOLDER.format(index)))
        parts[-1:] = [head + '"', '"' + tail]
    scheduled = classification.scheduled_due_at
    return ValueSet(
        result_code=classification.result_code or "",
        opens_case=classification.opens_case,
        case_reason=classification.case_reason,
        first_step=classification.first_step,
        track=classification.track,
        exposes_infant=classification.exposes_infant,
        rule_version=classification.rule_version,
        findings_json=json.dumps(list(classification.findings)),
        parts=tuple(parts),
        offsets=tuple(offsets),
        scheduled_offset=None if scheduled is None else scheduled - performed,
        traits=classification.traits,
    )


def performed_moment(program: Program, test_code: str, moment: dt.datetime) -> dt.datetime:
    """Return when a result counts as done: a test dated by day is stored at local noon of that day."""
    test = program.test(test_code)
    if test.performed_field and test.field(test.performed_field).kind is FieldKind.DATE:
        return dt.datetime.combine(local_date(moment), dt.time(12), LOCAL_TZ).astimezone(dt.UTC)
    return moment


def reference_subject(kind: SubjectKind, age: dt.timedelta, sex: Sex = Sex.FEMALE) -> Subject:
    """A subject of this kind whose age at REFERENCE is `age`."""
    birth_at = REFERENCE - age
    return Subject(kind=kind, sex=sex, birth_at=birth_at, birth_on=local_date(birth_at))


class ValueLibrary:
    """Engine-classified value sets of one test for one reference subject, by result code."""

    def __init__(
        self, program: Program, test_code: str, subject: Subject, rng: random.Random, draws: int = 800
    ) -> None:
        self.program = program
        self.test_code = test_code
        self.subject = subject
        self.performed = performed_moment(program, test_code, REFERENCE)
        self.age_at_test = self.performed - subject.birth_at
        self.by_code: dict[str, list[ValueSet]] = {}
        self.engine_errors: dict[str, int] = {}
        self._by_value: dict[tuple, list[ValueSet]] = {}
        declared = len(program.test(test_code).result_codes)
        for _ in range(draws):
            if len(self.by_code) == declared and all(len(b) >= 8 for b in self.by_code.values()):
                break  # every code the test declares has enough value sets
            raw = draw_values(program, test_code, self.performed, rng)
            try:
                # As services.record_result does: the engine reads the test's subject traits from the values.
                verdict = classify(program, test_code, raw, subject)
            except KeyError as problem:
                # A verdict the test does not declare is the engine's bug; count it, never store it.
                self.engine_errors[str(problem)] = self.engine_errors.get(str(problem), 0) + 1
                continue
            if not verdict.ok:
                continue
            bucket = self.by_code.setdefault(verdict.result_code, [])
            if len(bucket) < 24:
                bucket.append(_value_set(verdict, self.performed))

        self._preferred: dict[tuple[str, bool | None], list[ValueSet]] = {}
        for code, sets in self.by_code.items():
            self._preferred[(code, None)] = sets
            for opens in (True, False):
                self._preferred[(code, opens)] = [v for v in sets if v.opens_case == opens] or sets

    def pick(self, code: str, rng: random.Random, opens: bool | None = None) -> ValueSet | None:
        """Return a value set classified to `code`; `opens` prefers sets that do (not) open a case."""
        choices = self._preferred.get((code, opens))
        if not choices:
            return None
        return choices[int(rng.random() * len(choices))]

    def with_value(self, code: str, field: str, value: object) -> list[ValueSet]:
        """Return the value sets of a code whose `field` holds `value` (e.g. an autism age point)."""
        key = (code, field, value)
        found = self._by_value.get(key)
        if found is None:
            needle = json.dumps({field: value})[1:-1]
            found = self._by_value[key] = [
                v for v in self.by_code.get(code, []) if any(needle in p for p in v.parts)
            ]
        return found

    def codes(self) -> set[str]:
        return set(self.by_code)
