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


def insert_rows(
    connection: sa.Connection, table: sa.Table, rows: list[dict], *, returning_ids: bool = False
) -> list[int]:
    """Insert many plain rows; return their new ids, in the rows' order, when asked.

    On PostgreSQL the rows go by COPY: a multi-row INSERT of thousands of rows spends more time in
    psycopg's parsing of its placeholders than in the server (bench/README.md). Ids asked for are
    drawn from the table's sequence first. Values must be plain (numbers, text, dates, booleans).
    Elsewhere one executemany INSERT.
    """
    if not rows:
        return []
    if connection.dialect.name != "postgresql":
        statement = table.insert()
        if returning_ids:
            statement = statement.returning(table.c.id, sort_by_parameter_order=True)
            return list(connection.execute(statement, rows).scalars())
        connection.execute(statement, rows)
        return []
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
