"""Screening results: recording them one at a time or in batches, correcting one; classification adapters."""

from screenings.results.recording import (
    WEB_SOURCE,
    RecordedResult,
    ResultInput,
    ResultRejected,
    record_result,
    record_results,
)

__all__ = ["WEB_SOURCE", "RecordedResult", "ResultInput", "ResultRejected", "record_result", "record_results"]

# Imported for its model (the correction table), after the recording path it builds on.
from screenings.results import corrections  # noqa: E402, F401
