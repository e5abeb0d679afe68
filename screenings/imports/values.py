"""A source's own values mapped onto a field's codes: surveyed in the first rows, proposed, confirmed, saved.

A lab writes "阳性", "POS", "+" or "1" where the program declares POSITIVE, and "16" where it declares
HPV16. For each mapped choice column the first rows of the file are surveyed for the distinct values
they hold; a value that is a declared spelling (code, Chinese or English label) needs nothing; any
other gets a proposal: what the user confirmed for this source before, else a common lab spelling of
the code, else a type number ("16" for HPV16). The user confirms or changes each, or refuses a value
("弱阳性"); the confirmed map is kept on the batch and saved with the source's column mapping.

Pure functions over text: no Flask, no database.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence

from screenings.engine import Field, FieldKind
from screenings.imports.mapping import Target
from screenings.imports.schemas import split_choices, value_key

SURVEY_ROWS = 1000  # the first rows read for the values a file uses
MAX_VALUES = 40  # distinct values shown per column; the rest are left unmapped (and reported)
FIRST_ROWS = 3  # row numbers shown beside a value

# Common lab spellings of codes programs declare, by code; a program's own labels come first anyway.
COMMON_SPELLINGS: dict[str, tuple[str, ...]] = {
    "POSITIVE": ("阳性", "阳", "+", "pos", "positive", "1", "异常", "abnormal", "有反应", "reactive"),
    "NEGATIVE": ("阴性", "阴", "-", "neg", "negative", "0", "正常", "normal", "无反应", "nonreactive"),
    "ABNORMAL": ("异常", "阳性", "abnormal", "pos", "positive", "+", "1"),
    "NORMAL": ("正常", "未见异常", "阴性", "normal", "neg", "negative", "-", "0"),
    "REACTIVE": ("阳性", "+", "pos", "positive", "有反应", "1"),
    "NONREACTIVE": ("阴性", "-", "neg", "negative", "无反应", "0"),
    "PASS": ("通过", "pass", "p", "正常", "normal"),
    "REFER": ("未通过", "不通过", "refer", "fail", "r", "异常"),
    "INVALID": ("无效", "invalid", "失败"),
}
REFUSE = "!REFUSE"  # the form's answer for a value that is refused
_TRAILING_NUMBER = re.compile(r"(\d+)$")
# A choice code's trailing number written alone or after its letters: "16", "HPV-16", "16型" → HPV16.
_TYPE_NUMBER = re.compile(r"[a-z]*[-_]?(\d+)型?")


@dataclasses.dataclass
class SeenValue:
    """One distinct value of a column in the first rows, and what it is read as."""

    spelling: str  # as first written in the file
    key: str  # value_key(spelling): what the map is keyed by
    count: int = 0
    first_rows: list[int] = dataclasses.field(default_factory=list)
    declared: str | None = None  # the code it already spells, needing no mapping
    code: str | None = None  # the proposed (or confirmed) code
    refused: bool = False
    saved: bool = False  # the proposal is what the user confirmed for this source before

    @property
    def needs_mapping(self) -> bool:
        return self.declared is None


@dataclasses.dataclass
class ColumnValues:
    """The distinct values one mapped choice column holds in the first rows."""

    target: Target
    column: str
    values: list[SeenValue]
    more: int = 0  # distinct values past MAX_VALUES, not shown

    @property
    def field(self) -> Field:
        return self.target.field

    def form_name(self, value: SeenValue) -> str:
        """A stable form field name for one of this column's values (keys may hold any character)."""
        return f"val_{self.target.name}_{hashlib.sha1(value.key.encode()).hexdigest()[:10]}"

    def to_map(self) -> dict[str, str | None]:
        """The map to keep: every value that needed one and has a code or was refused."""
        return {
            v.key: (None if v.refused else v.code)
            for v in self.values
            if v.needs_mapping and (v.refused or v.code)
        }


def choice_targets(targets: Iterable[Target], columns: Mapping[str, str]) -> list[Target]:
    """The mapped targets whose values are codes of declared choices."""
    return [
        t
        for t in targets
        if t.field is not None
        and t.field.kind in (FieldKind.CHOICE, FieldKind.MULTI_CHOICE)
        and columns.get(t.name)
    ]


def declared_spellings(field: Field) -> dict[str, str]:
    spellings: dict[str, str] = {}
    for choice in field.choices:
        for spelling in (choice.code, choice.zh, choice.en):
            spellings.setdefault(value_key(spelling), choice.code)
    return spellings


def propose(field: Field, key: str) -> str | None:
    """Guess the code a value means: a common lab spelling, else a trailing type number ("16" → HPV16)."""
    codes = [c.code for c in field.choices]
    for code in codes:
        if key in {value_key(s) for s in COMMON_SPELLINGS.get(code, ())}:
            return code
    number = _TYPE_NUMBER.fullmatch(key)
    if number is not None:
        matching = [
            code for code in codes if (m := _TRAILING_NUMBER.search(code)) and m.group(1) == number.group(1)
        ]
        if len(matching) == 1:
            return matching[0]
    return None


def survey(
    rows: Iterable[tuple[int, Sequence[str]]],
    headers: Sequence[str],
    targets: Iterable[Target],
    columns: Mapping[str, str],
    saved: Mapping[str, Mapping[str, str | None]],
) -> list[ColumnValues]:
    """Read the first rows for each mapped choice column's distinct values, each with its proposal.

    `saved` is the source's confirmed map (field name → value key → code, None: refused).
    """
    index = {header: i for i, header in enumerate(headers)}
    wanted = [t for t in choice_targets(targets, columns) if columns[t.name] in index]
    seen: dict[str, dict[str, SeenValue]] = {t.name: {} for t in wanted}
    for number, cells in rows:
        for target in wanted:
            at = index[columns[target.name]]
            text = cells[at].strip() if at < len(cells) else ""
            if not text:
                continue
            parts = split_choices(text) if target.field.kind is FieldKind.MULTI_CHOICE else [text]
            for part in parts:
                key = value_key(part)
                value = seen[target.name].get(key)
                if value is None:
                    value = seen[target.name][key] = SeenValue(part, key)
                value.count += 1
                if len(value.first_rows) < FIRST_ROWS and number not in value.first_rows:
                    value.first_rows.append(number)
    surveyed = []
    for target in wanted:
        declared = declared_spellings(target.field)
        known = {c.code for c in target.field.choices}
        mine = saved.get(target.name, {})
        values = list(seen[target.name].values())
        for value in values:
            if value.key in mine and (mine[value.key] is None or mine[value.key] in known):
                value.code, value.refused, value.saved = mine[value.key], mine[value.key] is None, True
            elif value.key in declared:
                value.declared = value.code = declared[value.key]
            else:
                value.code = propose(target.field, value.key)
        # Values that need a decision first, then by how often they occur.
        values.sort(key=lambda v: (not v.needs_mapping, -v.count))
        surveyed.append(
            ColumnValues(target, columns[target.name], values[:MAX_VALUES], max(0, len(values) - MAX_VALUES))
        )
    return surveyed


def confirmed_map(
    surveyed: Sequence[ColumnValues], chosen: Mapping[str, str | None]
) -> dict[str, dict[str, str | None]]:
    """The value map a user confirmed: `chosen` is form name → code, REFUSE, or "" (not mapped).

    A value the user left out of `chosen` keeps its proposal.
    """
    result: dict[str, dict[str, str | None]] = {}
    for column in surveyed:
        known = {c.code for c in column.field.choices}
        for value in column.values:
            name = column.form_name(value)
            if not value.needs_mapping or name not in chosen:
                continue
            answer = chosen[name] or ""
            value.refused = answer == REFUSE
            value.code = answer if answer in known else None
        mapped = column.to_map()
        if mapped:
            result[column.target.name] = mapped
    return result


def signature(surveyed: Sequence[ColumnValues]) -> str:
    """Which column each surveyed field was read from: the values shown are stale when this changes."""
    return ";".join(f"{c.target.name}={c.column}" for c in surveyed)


def left_unmapped(surveyed: Sequence[ColumnValues]) -> dict[str, set[str]]:
    """The value keys, by field, that need a code and have none (their rows are rejected)."""
    return {
        column.target.name: keys
        for column in surveyed
        if (keys := {v.key for v in column.values if v.needs_mapping and not v.code and not v.refused})
    }


def merged(
    saved: Mapping[str, Mapping[str, str | None]],
    confirmed: Mapping[str, Mapping[str, str | None]],
    unmapped: Mapping[str, set[str]],
) -> dict[str, dict[str, str | None]]:
    """The source's map after this file: what was confirmed now wins, a value now left unmapped is
    forgotten, and values this file lacks are kept."""
    result = {field: dict(values) for field, values in saved.items()}
    for field, keys in unmapped.items():
        for key in keys:
            result.get(field, {}).pop(key, None)
    for field, values in confirmed.items():
        result.setdefault(field, {}).update(values)
    return {field: values for field, values in result.items() if values}
