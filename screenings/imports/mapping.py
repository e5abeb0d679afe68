"""What a file's columns can feed: the person-identifying columns, then the chosen test's declared fields.

The test's targets come from the program's declarations (screenings.engine Field), so a new test
or field is importable without touching this module.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping

from flask_babel import lazy_gettext as _l

from screenings.engine import Field, FieldKind, ScreeningTest

SAMPLE_ID = "sample_id"
ID_NUMBER = "id_number"
NAME = "name"
BIRTH_ON = "birth_on"
MOTHER_ID_NUMBER = "mother_id_number"
BIRTH_ORDER = "birth_order"


@dataclasses.dataclass(frozen=True)
class Target:
    """One value a row can carry: a person-identifying column, or a field of the test."""

    name: str
    label: object  # a lazy translation, or the field's label in the reader's language at render time
    required: bool = False
    field: Field | None = None
    synonyms: tuple[str, ...] = ()

    @property
    def is_person(self) -> bool:
        return self.field is None


PERSON_TARGETS = (
    Target(
        SAMPLE_ID,
        _l("Sample ID"),
        required=True,
        synonyms=(
            "样本编号",
            "样本号",
            "标本号",
            "标本编号",
            "条码",
            "条码号",
            "采血卡号",
            "卡号",
            "血片编号",
            "申请单号",
            "sample id",
            "sample no",
            "sample number",
            "specimen id",
            "specimen",
            "barcode",
            "lab no",
        ),
    ),  # fmt: skip
    Target(
        ID_NUMBER,
        _l("ID number"),
        synonyms=("身份证号", "身份证号码", "证件号码", "证件号", "身份证", "id number", "id no", "id card"),
    ),
    Target(
        NAME,
        _l("Name"),
        synonyms=("姓名", "患者姓名", "受检者姓名", "婴儿姓名", "新生儿姓名", "name", "patient name"),
    ),
    Target(
        BIRTH_ON,
        _l("Birth date"),
        synonyms=("出生日期", "生日", "birth date", "date of birth", "dob", "birthday"),
    ),
    Target(
        MOTHER_ID_NUMBER,
        _l("Mother's ID number"),
        synonyms=(
            "母亲身份证号",
            "母亲身份证号码",
            "母亲证件号码",
            "母亲身份证",
            "产妇身份证号",
            "mother id",
        ),
    ),
    Target(
        BIRTH_ORDER,
        _l("Birth order"),
        synonyms=("出生顺序", "胎次", "孩次", "第几胎", "birth order"),
    ),
)
PERSON_TARGET_NAMES = frozenset(t.name for t in PERSON_TARGETS)


def targets_for(test: ScreeningTest) -> tuple[Target, ...]:
    """Return every target of a test: the person columns, then its fields in declaration order."""
    fields = tuple(
        Target(
            f.name,
            f,
            required=f.required and f.required_when is None and f.kind is not FieldKind.MULTI_CHOICE,
            field=f,
            synonyms=(f.name, f.zh, f.en),
        )
        for f in test.fields
        if f.name not in PERSON_TARGET_NAMES
    )
    return PERSON_TARGETS + fields


def _key(text: str) -> str:
    """Compare headers loosely: no case, spaces, punctuation or a trailing unit in brackets."""
    text = re.sub(r"[(（\[].*?[)）\]]\s*$", "", text.strip())
    return re.sub(r"[\s_\-:：/.·]+", "", text.lower())


def suggest_mapping(headers: Iterable[str], targets: Iterable[Target]) -> dict[str, str]:
    """Guess which header feeds which target from the names and labels both languages use."""
    by_key: dict[str, str] = {}
    for header in headers:
        by_key.setdefault(_key(header), header)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for target in targets:
        for synonym in target.synonyms:
            header = by_key.get(_key(synonym))
            if header is not None and header not in taken:
                mapping[target.name] = header
                taken.add(header)
                break
    return mapping


@dataclasses.dataclass(frozen=True)
class MappingProblem:
    code: str  # REQUIRED, NO_PERSON_COLUMNS, COLUMN_TWICE, UNKNOWN_COLUMN
    target: str | None = None
    column: str | None = None


def check_mapping(
    columns: Mapping[str, str], headers: Iterable[str], targets: Iterable[Target]
) -> list[MappingProblem]:
    """Return what stops a mapping from importing: a required column missing, no way to find the person."""
    known = set(headers)
    problems: list[MappingProblem] = []
    used: dict[str, str] = {}
    for target in targets:
        column = columns.get(target.name)
        if not column:
            if target.required:
                problems.append(MappingProblem("REQUIRED", target.name))
            continue
        if column not in known:
            problems.append(MappingProblem("UNKNOWN_COLUMN", target.name, column))
        elif column in used:
            problems.append(MappingProblem("COLUMN_TWICE", target.name, column))
        used.setdefault(column, target.name)
    finds_person = (
        columns.get(ID_NUMBER)
        or (columns.get(NAME) and columns.get(BIRTH_ON))
        or columns.get(MOTHER_ID_NUMBER)
    )
    if not finds_person:
        problems.append(MappingProblem("NO_PERSON_COLUMNS"))
    return problems
