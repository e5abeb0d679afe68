"""Fixtures any test may ask for: a query counter (after indico's `count_queries`), a frozen app clock."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from registry import clock

# Transaction control is the test harness's and SQLAlchemy's, not the page's: it is not counted.
_TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)


class CountedQueries:
    """The SQL statements run inside one `with count_queries():` block."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def __call__(self) -> int:
        return self.count

    def __str__(self) -> str:
        listing = "\n".join(f"  {n}. {' '.join(s.split())[:200]}" for n, s in enumerate(self.statements, 1))
        return f"{self.count} queries:\n{listing}"


@pytest.fixture
def count_queries():
    """Count the SQL statements a block runs, e.g. to show a page's queries do not grow with its rows.

    with count_queries() as queries:
        client.get("/cases/")
    assert queries.count <= 12, queries   # the message lists every statement
    """
    active: list[CountedQueries] = []

    def before_cursor_execute(_conn, _cursor, statement, _parameters, _context, _executemany):
        if active and not _TRANSACTION_CONTROL.match(statement):
            active[-1].statements.append(statement)

    @contextlib.contextmanager
    def counting():
        counted = CountedQueries()
        active.append(counted)
        try:
            yield counted
        finally:
            active.remove(counted)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield counting
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", before_cursor_execute)


@pytest.fixture
def frozen_clock(app):
    """Stop the application's clock at a wall-clock time, e.g. `frozen_clock("2026-12-02 09:00")`.

    A naive time is read in `tz` (Asia/Shanghai unless told); an aware datetime is taken as it is. Returns
    the frozen instant in UTC; call again to move the clock. The clock runs again after the test.
    """

    def freeze(when: str | dt.datetime, tz: str = "Asia/Shanghai") -> dt.datetime:
        moment = dt.datetime.fromisoformat(when) if isinstance(when, str) else when
        if moment.utcoffset() is None:
            moment = moment.replace(tzinfo=ZoneInfo(tz))
        clock.freeze(app, moment)
        return moment.astimezone(dt.UTC)

    yield freeze
    clock.freeze(app, None)
