"""Declarative base, naming convention and the column types every model shares."""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase

# Named constraints let Alembic's batch mode alter tables on SQLite.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.types.TypeDecorator):
    """A timezone-aware datetime stored as UTC on every database.

    SQLite keeps no offset, so values are normalised to UTC on the way in and
    marked UTC on the way out; PostgreSQL stores timestamptz.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC datetime is required")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def str_enum(enum_class, length: int = 32) -> sa.Enum:
    """A portable enum column that stores the member values, not their names."""
    return sa.Enum(
        enum_class,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def among(column, values, dialect: str) -> sa.ColumnElement[bool]:
    """Return ``column IN values`` as the database reads a long list fastest.

    On PostgreSQL one array parameter (``column = ANY(:values)``): a list of a thousand placeholders
    costs psycopg a regex pass over the statement and the planner a thousand-branch OR, tens of
    milliseconds a statement (bench/README.md), where the array costs nothing. Elsewhere ``IN``.
    """
    values = list(values)
    if dialect != "postgresql":
        return column.in_(values)
    from sqlalchemy.dialects.postgresql import ARRAY

    return column == sa.any_(sa.bindparam(None, values, type_=ARRAY(column.type)))


def pairs_among(first, second, pairs, dialect: str) -> sa.ColumnElement[bool]:
    """Return ``(first, second) IN pairs``, exact pairs, as the database reads a long list fastest.

    On PostgreSQL the pairs travel as two arrays zipped by ``unnest``: 500 index probes, where
    ``first IN (…) AND second IN (…)`` crossed every value with every other (0.3–7 s a chunk at 3.7 M
    people, bench/README.md) and a row-value ``IN`` list costs the planner a 500-branch OR.
    """
    pairs = list(pairs)
    if dialect != "postgresql":
        return sa.tuple_(first, second).in_(pairs)
    from sqlalchemy.dialects.postgresql import ARRAY

    arrays = [
        sa.bindparam(None, [pair[n] for pair in pairs], type_=ARRAY(column.type))
        for n, column in enumerate((first, second))
    ]
    keys = sa.func.unnest(*arrays).table_valued("a", "b").render_derived()
    return sa.tuple_(first, second).in_(sa.select(keys.c.a, keys.c.b))


def insert_rows(
    connection: sa.Connection, table: sa.Table, rows: list[dict], *, returning_ids: bool = False
) -> list[int]:
    """Insert many plain rows; return their new ids, in the rows' order, when asked.

    On PostgreSQL the rows go by COPY: a multi-row INSERT of thousands of rows spends more time in
    psycopg's parsing of its placeholders than in the server (bench/README.md). Ids asked for are
    drawn from the table's sequence first. Values must be plain (numbers, text, dates, booleans).
    On SQLite one executemany INSERT; when ids are asked for, the first row is inserted alone and gives
    its id, the others take the ids after it (SQLAlchemy would otherwise send one INSERT … RETURNING per
    row to keep their order). That is safe on SQLite: the first insert takes the database's one write
    lock until the commit, and a new rowid is larger than every rowid in the table.
    """
    if not rows:
        return []
    if connection.dialect.name != "postgresql":
        if not returning_ids:
            connection.execute(table.insert(), rows)
            return []
        first = connection.execute(table.insert().returning(table.c.id), rows[0]).scalar_one()
        ids = list(range(first, first + len(rows)))
        if len(rows) > 1:
            connection.execute(
                table.insert(), [{**row, "id": new_id} for row, new_id in zip(rows[1:], ids[1:], strict=True)]
            )
        return ids
    ids: list[int] = []
    columns = [c.name for c in table.columns if c.name != "id" or returning_ids]
    if returning_ids:
        ids = list(
            connection.execute(
                sa.text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
                {"t": table.name, "n": len(rows)},
            ).scalars()
        )
        rows = [{**row, "id": new_id} for row, new_id in zip(rows, ids, strict=True)]
    copy_rows(connection, table.name, columns, ([row.get(c) for c in columns] for row in rows))
    return ids


def copy_rows(connection: sa.Connection, table_name: str, columns: list[str], rows) -> None:
    """COPY rows (sequences of plain values, in `columns` order) into a PostgreSQL table."""
    names = ", ".join(f'"{c}"' for c in columns)
    with (
        connection.connection.cursor() as cursor,
        cursor.copy(f'COPY "{table_name}" ({names}) FROM STDIN') as copy,
    ):
        for row in rows:
            copy.write_row(row)
