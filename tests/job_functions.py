"""Job functions a worker process imports by name in the job-record tests (ids and strings in)."""

from pathlib import Path

from registry.job_records import report_progress


def count_to(n: int, *, record_id: int) -> dict:
    """Report progress step by step, then return a result."""
    for done in range(1, n + 1):
        report_progress(record_id, done, n)
    return {"counted": n}


def always_fails(*, record_id: int) -> None:
    raise ValueError("the lab file could not be read; call 13812345678")


def fails_once(marker: str, *, record_id: int) -> dict:
    """Fail the first time (a transient error), succeed when retried."""
    path = Path(marker)
    if not path.exists():
        path.write_text("tried")
        raise ConnectionError("database restarting")
    return {"ok": True}
