"""Bulk writing for the generator: COPY on PostgreSQL, executemany in big transactions on SQLite.

Rows are tuples in the column order given at registration; ids are assigned by the generator from a
block reserved here, so results, cases and events can point at each other before anything is written.
On an empty table the secondary indexes (and on PostgreSQL the foreign keys and unique constraints)
are dropped for the load and rebuilt once at the end, which is what makes minutes instead of hours.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence

import sqlalchemy as sa


class Sink:
    """Buffers rows per table and writes them in bulk, parents before children."""

    def __init__(self, connection: sa.Connection, tables: dict[str, Sequence[str]], batch_rows: int = 50_000):
        self.connection = connection
        self.dialect = connection.dialect.name
        self.tables = {name: tuple(columns) for name, columns in tables.items()}
        self.order = list(tables)
        self.buffers: dict[str, list[tuple]] = {name: [] for name in tables}
        self.written: dict[str, int] = {name: 0 for name in tables}
        self.batch_rows = batch_rows
        self.seconds_writing = 0.0
        self._saved_ddl: list[tuple[str, str]] = []  # (kind, statement) to rebuild after the load
        self.ts: Callable[[dt.datetime | None], object]
        if self.dialect == "postgresql":
            self.ts = _pg_timestamp
        elif self.dialect == "sqlite":
            self.ts = _sqlite_timestamp
        else:
            raise ValueError(f"the generator writes to PostgreSQL or SQLite, not {self.dialect}")

    # -- ids -------------------------------------------------------------------------------------

    def next_id(self, table: str) -> int:
        """The first free id of a table (the generator counts up from it)."""
        return (
            self.connection.execute(sa.text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar() or 0
        ) + 1

    def fix_sequences(self) -> None:
        """Move PostgreSQL's id sequences past the ids the generator assigned itself."""
        if self.dialect != "postgresql":
            return
        for table in self.order:
            self.connection.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"
                )
            )

    # -- rows --------------------------------------------------------------------------------------

    def add(self, table: str, row: tuple) -> None:
        buffer = self.buffers[table]
        buffer.append(row)

    def maybe_flush(self) -> None:
        if max(len(b) for b in self.buffers.values()) >= self.batch_rows:
            self.flush()

    def flush(self) -> None:
        started = time.perf_counter()
        for table in self.order:
            rows = self.buffers[table]
            if not rows:
                continue
            columns = self.tables[table]
            if self.dialect == "postgresql":
                cursor = self.connection.connection.driver_connection.cursor()
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in columns)
                self.connection.connection.driver_connection.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
                )
            self.written[table] += len(rows)
            rows.clear()
        self.seconds_writing += time.perf_counter() - started

    # -- fast load -----------------------------------------------------------------------------------

    def prepare_fast_load(self) -> None:
        """Drop secondary indexes and constraints of the (empty) tables; the DDL is kept to rebuild them."""
        raw = self.connection.connection.driver_connection
        if self.dialect == "sqlite":
            raw.execute("PRAGMA foreign_keys=OFF")
            for table in self.order:
                rows = raw.execute(
                    "SELECT name, sql FROM sqlite_master "
                    "WHERE type='index' AND tbl_name=? AND sql IS NOT NULL",
                    (table,),
                ).fetchall()
                for name, statement in rows:
                    self._saved_ddl.append(("index", statement))
                    raw.execute(f'DROP INDEX "{name}"')
            return
        tables = list(self.order)
        # Foreign keys pointing into or out of the loaded tables, then unique constraints, then indexes.
        constraints = self.connection.execute(
            sa.text(
                "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype "
                "FROM pg_constraint c WHERE c.contype IN ('f', 'u') AND "
                "(c.conrelid::regclass::text = ANY(:t) OR c.confrelid::regclass::text = ANY(:t)) "
                "ORDER BY c.contype"
            ),
            {"t": tables},
        ).all()
        for table, name, definition, _kind in constraints:
            self._saved_ddl.append(
                ("constraint", f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            )
        for table, name, _definition, _kind in constraints:
            self.connection.execute(sa.text(f'ALTER TABLE {table} DROP CONSTRAINT IF EXISTS "{name}"'))
        indexes = self.connection.execute(
            sa.text(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "WHERE i.indrelid::regclass::text = ANY(:t) AND NOT i.indisprimary"
            ),
            {"t": tables},
        ).all()
        for name, definition in indexes:
            self._saved_ddl.insert(0, ("index", definition))
            self.connection.execute(sa.text(f"DROP INDEX IF EXISTS {name}"))

    def rebuild(self, log: Callable[[str], None]) -> None:
        """Rebuild what prepare_fast_load dropped: indexes first, then constraints (which use them)."""
        raw = self.connection.connection.driver_connection
        for kind in ("index", "constraint"):
            for saved_kind, statement in self._saved_ddl:
                if saved_kind != kind:
                    continue
                started = time.perf_counter()
                if self.dialect == "sqlite":
                    raw.execute(statement)
                else:
                    self.connection.execute(sa.text(statement))
                log(f"  {time.perf_counter() - started:6.1f} s  {statement[:110]}")
        if self.dialect == "sqlite":
            raw.execute("PRAGMA foreign_keys=ON")
        self._saved_ddl.clear()

    @property
    def saved_ddl(self) -> list[tuple[str, str]]:
        return list(self._saved_ddl)


def _pg_timestamp(value: dt.datetime | None) -> object:
    return value


def _sqlite_timestamp(value: dt.datetime | None) -> str | None:
    # The layout SQLAlchemy's SQLite DateTime type writes (UTC, no offset), so comparisons in SQL hold.
    if value is None:
        return None
    if value.utcoffset():
        value = value.astimezone(dt.UTC)
    text = value.replace(tzinfo=None).isoformat(" ")
    return text if value.microsecond else text + ".000000"
