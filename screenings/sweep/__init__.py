"""The daily sweep: overdue and due-soon steps, lost to follow-up, escalation, missed screenings."""

from screenings.sweep.missed import DEFAULT_MISSED_LOOKBACK_DAYS
from screenings.sweep.phases import LOST_RECHECK, fewest_attempts_for_loss, smallest_escalation_threshold
from screenings.sweep.report import (
    DEFAULT_BATCH_SIZE,
    SWEEP_ACTOR,
    SweepReport,
    local_today,
    sweep_moment,
)
from screenings.sweep.run import run_sweep

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_MISSED_LOOKBACK_DAYS",
    "LOST_RECHECK",
    "SWEEP_ACTOR",
    "SweepReport",
    "fewest_attempts_for_loss",
    "local_today",
    "run_sweep",
    "smallest_escalation_threshold",
    "sweep_moment",
]
