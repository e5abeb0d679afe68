"""Screening results: recording them one at a time or in batches, and the classification adapters."""

from screenings.results.recording import (
    WEB_SOURCE,
    RecordedResult,
    ResultInput,
    ResultRejected,
    record_result,
    record_results,
)

__all__ = ["WEB_SOURCE", "RecordedResult", "ResultInput", "ResultRejected", "record_result", "record_results"]
