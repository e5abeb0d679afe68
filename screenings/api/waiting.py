"""API results whose person is not certain wait in the lab-file import's unmatched queue.

A system account sends under its own source system (its name), which is also the code of the import
source its waiting rows belong to: a lab that sends both files and API calls under one code shares one set
of keys. Each call with waiting items makes one finished "API" batch per test, so the queue's pages (match
to a person, register them, discard with a reason) work on them unchanged; a resend of a waiting item
finds its row again instead of adding one, and once the person is registered a resend records the result
and lets the row go, as a re-uploaded file does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from registry.auth.models import User
from registry.extensions import db
from screenings.imports.mapping import BIRTH_ON, BIRTH_ORDER, ID_NUMBER, MOTHER_ID_NUMBER, NAME, SAMPLE_ID
from screenings.imports.models import (
    BatchStatus,
    FileFormat,
    ImportBatch,
    ImportSource,
    UnmatchedRow,
    UnmatchedStatus,
)
from screenings.imports.running import resolve_waiting_row
from screenings.programs import PROGRAMS

API_FILENAME = "API"
_PERSON_TARGETS = {
    "id_number": ID_NUMBER,
    "name": NAME,
    "birth_on": BIRTH_ON,
    "mother_id_number": MOTHER_ID_NUMBER,
    "birth_order": BIRTH_ORDER,
}


def source_system_of(account: User) -> str:
    """The source system of an account's results: its name (so that its keys are its own)."""
    return account.username[:40]


def _text(value) -> str | None:
    """A value as a file cell would hold it, for the queue's reader."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _raw_values(item) -> dict[str, str]:
    test = PROGRAMS[item["program"]].test(item["test"])
    names = {f.name for f in test.fields}
    raw = {SAMPLE_ID: item["source_key"]}
    raw.update({_PERSON_TARGETS[k]: _text(v) for k, v in item["person"].items()})
    raw.update({k: _text(v) for k, v in item["values"].items() if k in names})
    return {k: v for k, v in raw.items() if v is not None}


def _source(account: User, now: dt.datetime) -> ImportSource:
    code = source_system_of(account)
    found = db.session.scalar(sa.select(ImportSource).where(ImportSource.code == code))
    if found is not None:
        return found
    source = ImportSource(
        code=code, name=account.full_name[:100], institution_id=account.institution_id, created_at=now,
        created_by_id=account.id,
    )  # fmt: skip
    try:
        with db.session.begin_nested():
            db.session.add(source)
    except sa.exc.IntegrityError:  # made meanwhile by a concurrent call of the same account
        return db.session.scalar(sa.select(ImportSource).where(ImportSource.code == code))
    return source


def queue(outcomes, items, account: User, now: dt.datetime) -> None:
    """Give every unmatched item its row in the unmatched queue (a resend finds its row again)."""
    unmatched = [o for o in outcomes if o.status == "unmatched"]
    if not unmatched:
        return
    code = source_system_of(account)
    rows = _waiting_rows(code, [o.source_key for o in unmatched])
    new = {}
    for outcome in unmatched:
        if outcome.source_key not in rows:
            new.setdefault(outcome.source_key, outcome)
    if new:
        source = _source(account, now)
        groups: dict[tuple[str, str], list] = {}
        for outcome in new.values():
            item = items[outcome.index]
            groups.setdefault((item["program"], item["test"]), []).append(outcome)
        values = []
        for (program, test), group in groups.items():
            batch = _batch(source, account, program, test, len(group), now)
            values += [
                {
                    "batch_id": batch.id,
                    "institution_id": account.institution_id,
                    "row_number": outcome.index + 1,
                    "source_system": code,
                    "source_key": outcome.source_key,
                    "raw_values": _raw_values(items[outcome.index]),
                    "reason": outcome.unmatched_reason,
                    "status": UnmatchedStatus.WAITING.value,
                }
                for outcome in group
            ]
        _insert_rows(values)
        rows = _waiting_rows(code, [o.source_key for o in unmatched])
    for outcome in unmatched:
        outcome.unmatched_id = rows[outcome.source_key].id


def release(outcomes, items, people, account: User, now: dt.datetime) -> None:
    """A waiting item whose person is now registered: recorded by this call, its row lets it go."""
    recorded = [o for o in outcomes if o.status in ("created", "unchanged") and o.index in people]
    if not recorded:
        return
    rows = _waiting_rows(source_system_of(account), [o.source_key for o in recorded])
    for outcome in recorded:
        row = rows.get(outcome.source_key)
        if row is not None and row.status is UnmatchedStatus.WAITING:
            resolve_waiting_row(row, people[outcome.index], outcome, account.id, now)


def _waiting_rows(code: str, keys: Sequence[str]) -> dict[str, UnmatchedRow]:
    return {
        row.source_key: row
        for row in db.session.scalars(
            sa.select(UnmatchedRow).where(
                UnmatchedRow.source_system == code, UnmatchedRow.source_key.in_(sorted(set(keys)))
            )
        )
    }


def _batch(source: ImportSource, account: User, program: str, test: str, rows: int, now) -> ImportBatch:
    batch = ImportBatch(
        source_id=source.id, program=program, test=test, institution_id=account.institution_id,
        created_by_id=account.id, created_at=now, original_filename=API_FILENAME, stored_name="",
        file_format=FileFormat.CSV, file_size=0,
        file_sha256=hashlib.sha256(f"{source.code}/{now.isoformat()}/{program}/{test}".encode()).hexdigest(),
        status=BatchStatus.DONE, total_rows=rows, processed_rows=rows, processed_through_row=rows,
        unmatched_count=rows, started_at=now, finished_at=now,
    )  # fmt: skip
    db.session.add(batch)
    db.session.flush()
    return batch


def _insert_rows(values: list[dict]) -> None:
    """Insert the waiting rows; one stored meanwhile by a concurrent call of the same key is left alone."""
    table = UnmatchedRow.__table__
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    statement = insert.on_conflict_do_nothing(index_elements=[table.c.source_system, table.c.source_key])
    db.session.connection().execute(statement, values)
