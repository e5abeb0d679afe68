"""The application clock: the one place the edges read the time, and the one display time zone.

Views, jobs and commands call `now()` and pass the instant down as `now` / `as_of`; nothing below the
edges reads the clock. A test freezes it for one application by setting `FROZEN_NOW_CONFIG` in the
app's config (the `frozen_clock` fixture does), so a page renders "today" as the test says it is.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

from registry.config import DISPLAY_TIMEZONE

SHANGHAI = ZoneInfo(DISPLAY_TIMEZONE)
FROZEN_NOW_CONFIG = "CLOCK_FROZEN_AT"


def now() -> dt.datetime:
    """Return the current instant in UTC, or the instant a test froze the application's clock at."""
    if has_app_context():
        frozen = current_app.config.get(FROZEN_NOW_CONFIG)
        if frozen is not None:
            return frozen
    return dt.datetime.now(dt.UTC)


def local_today(moment: dt.datetime | None = None) -> dt.date:
    """Return the Asia/Shanghai calendar date at an instant (by default, now)."""
    return (moment or now()).astimezone(SHANGHAI).date()


def freeze(app, moment: dt.datetime | None) -> None:
    """Stop an application's clock at an aware instant (None lets it run again)."""
    if moment is not None and moment.utcoffset() is None:
        raise ValueError("a frozen instant must be timezone-aware")
    app.config[FROZEN_NOW_CONFIG] = moment.astimezone(dt.UTC) if moment is not None else None
