"""What a sweep changed, the moment it acts at, and its batches."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from registry.audit import Actor
from registry.extensions import db
from screenings.engine import (
    LOCAL_TZ,
)

SWEEP_ACTOR = Actor.system("sweep")
DEFAULT_BATCH_SIZE = 2000


@dataclasses.dataclass
class SweepReport:
    """What one sweep changed, by rule."""

    as_of: dt.date
    moment: dt.datetime
    overdue: int = 0
    due_soon: int = 0
    lost: int = 0
    escalated: int = 0
    missed_screenings: int = 0
    batches: int = 0

    @property
    def changed(self) -> int:
        """Return how many changes the sweep made."""
        return self.overdue + self.due_soon + self.lost + self.escalated + self.missed_screenings

    def as_dict(self) -> dict:
        """Return the report as JSON-able data (a job's result)."""
        return {
            "as_of": self.as_of.isoformat(),
            "moment": self.moment.isoformat(),
            "overdue": self.overdue,
            "due_soon": self.due_soon,
            "lost": self.lost,
            "escalated": self.escalated,
            "missed_screenings": self.missed_screenings,
            "batches": self.batches,
        }


def sweep_moment(as_of: dt.date) -> dt.datetime:
    """Return the moment the sweep for a day acts at: midnight starting that day in Asia/Shanghai, in UTC."""
    return dt.datetime.combine(as_of, dt.time(0), LOCAL_TZ).astimezone(dt.UTC)


def local_today(now: dt.datetime) -> dt.date:
    """Return the date in Asia/Shanghai at an aware moment."""
    return now.astimezone(LOCAL_TZ).date()


class Batches:
    """Commit after each batch (the task passes the session's commit) and report progress."""

    def __init__(self, report: SweepReport, commit: Callable[[], None] | None, progress) -> None:
        self.report = report
        self.commit = commit
        self.progress = progress

    def done(self) -> None:
        self.report.batches += 1
        if self.commit is not None:
            self.commit()
        else:
            db.session.flush()
        if self.progress is not None:
            self.progress(self.report.changed)
