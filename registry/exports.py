"""Spreadsheet downloads: CSV (UTF-8 with a BOM, so Excel shows Chinese) and XLSX, safe against formulas.

Every text cell goes through `safe_cell`: a value starting with = + - @ (or a tab or carriage return)
would run as a formula when the file is opened (ASVS 1.2.10), so it is written with a leading
apostrophe. Numbers stay numbers. The caller audits the export; this module only writes the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from flask import Response

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")


def safe_cell(value: object) -> str:
    """Make a cell safe for Excel: a leading = + - @ would run as a formula (ASVS 1.2.10)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _xlsx_value(value: object):
    if isinstance(value, bool) or value is None:
        return safe_cell(value)
    if isinstance(value, int | float | Decimal | date | datetime):
        return value
    return safe_cell(value)


def _csv_value(value: object) -> str:
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    return safe_cell(value)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """Return the rows as CSV in UTF-8 with a BOM, every text cell made safe."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
    return out.getvalue().encode("utf-8")


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[object]], title: str = "Sheet1") -> bytes:
    """Return the rows as an XLSX workbook of one sheet, every text cell made safe (never a formula)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append([safe_cell(h) for h in header])
    for row in rows:
        sheet.append([_xlsx_value(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def download(fmt: str, filename: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Response:
    """Return a CSV or XLSX attachment named `filename` + the format's suffix."""
    if fmt == "xlsx":
        body, mimetype = xlsx_bytes(header, rows), XLSX_MIMETYPE
    elif fmt == "csv":
        body, mimetype = csv_bytes(header, rows), "text/csv; charset=utf-8"
    else:
        raise ValueError(f"no export format {fmt!r}")
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}.{fmt}"'}
    )
