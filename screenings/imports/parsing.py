"""Reading uploaded CSV and XLSX files as a stream of text rows, never the whole file at once.

CSV is read with the csv module from an open text file; XLSX with openpyxl's read-only mode, which
parses the sheet as it goes. Every cell comes out as text, so the rest of the import treats both
formats alike. Row numbers are the ones a person sees in Excel: the header is usually row 1.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as dt
import hashlib
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from screenings.imports.models import FileFormat

_SNIFF_BYTES = 64 * 1024
_BLOCK = 1024 * 1024
_DELIMITERS = (",", "\t", ";")
_ZIP_MAGIC = b"PK\x03\x04"
# Excel writes cells longer than this as errors anyway; a longer CSV field is not a lab value.
csv.field_size_limit(1024 * 1024)
# Limits on what a workbook may unpack to, checked from the zip directory before openpyxl reads a byte:
# a 300 KB file of compressed whitespace or shared strings once took the web process from 330 to 927 MB.
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_SHARED_STRINGS_BYTES = 64 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
MAX_COLUMNS = 200
MAX_CELL_CHARS = 10_000
# Of the non-ASCII characters a GB18030 decoding gives, at most this share may fall outside GB2312's
# common block: Latin-1 or other single-byte text "decodes" as GB18030 into rare characters.
MAX_RARE_GB_SHARE = 0.2
_ENCODING_SAMPLE_BYTES = 1024 * 1024


class FileProblem(ValueError):
    """The file cannot be read as a table; `code` names why (shown translated to the user)."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclasses.dataclass(frozen=True)
class FileInfo:
    """What an upload turned out to be, found by reading it once from start to end."""

    format: FileFormat
    encoding: str | None
    delimiter: str | None
    header_row: int
    headers: tuple[str, ...]
    data_rows: int | None  # None: an XLSX sheet that does not state its size
    sha256: str
    size: int


def store_upload(stream: BinaryIO, target: Path, max_bytes: int) -> tuple[str, int]:
    """Copy an uploaded stream to disk block by block; return its SHA-256 and size."""
    digest = hashlib.sha256()
    size = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        while block := stream.read(_BLOCK):
            size += len(block)
            if size > max_bytes:
                raise FileProblem("TOO_LARGE", limit_mb=max_bytes // (1024 * 1024))
            digest.update(block)
            out.write(block)
    if size == 0:
        raise FileProblem("EMPTY")
    return digest.hexdigest(), size


def check_name(filename: str) -> None:
    """Refuse at once a file whose name says it is not CSV or XLSX."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".xls":
        raise FileProblem("OLD_EXCEL")
    if suffix not in (".csv", ".txt", ".xlsx"):
        raise FileProblem("WRONG_TYPE")


def format_of(filename: str, head: bytes) -> FileFormat:
    """Tell CSV from XLSX by name and by content: a renamed binary file is refused."""
    check_name(filename)
    suffix = Path(filename).suffix.lower()
    if suffix == ".xlsx":
        if not head.startswith(_ZIP_MAGIC):
            raise FileProblem("NOT_XLSX")
        return FileFormat.XLSX
    if head.startswith(_ZIP_MAGIC) or b"\x00" in head:
        raise FileProblem("NOT_CSV")
    return FileFormat.CSV


def inspect_file(path: Path, filename: str, sha256: str, size: int, max_rows: int) -> FileInfo:
    """Read the file once: its format, encoding, header and row count; raise FileProblem if unusable."""
    with path.open("rb") as raw:
        head = raw.read(_SNIFF_BYTES)
    file_format = format_of(filename, head)
    if file_format is FileFormat.XLSX:
        return _inspect_xlsx(path, sha256, size, max_rows)
    encoding = _detect_encoding(path)
    delimiter = _sniff_delimiter(head.decode(encoding, errors="ignore"))
    header_row, headers, data_rows = None, (), 0
    for number, cells in _csv_rows(path, encoding, delimiter):
        if header_row is None:
            if any(cells):
                header_row, headers = number, header_names(cells)
            continue
        if not any(cells):
            continue
        data_rows += 1
        if data_rows > max_rows:
            raise FileProblem("TOO_MANY_ROWS", limit=max_rows)
    if header_row is None:
        raise FileProblem("NO_HEADER")
    if data_rows == 0:
        raise FileProblem("NO_ROWS")
    return FileInfo(FileFormat.CSV, encoding, delimiter, header_row, headers, data_rows, sha256, size)


def header_names(cells: list[str]) -> tuple[str, ...]:
    """Name every column: blank headers get their position, repeated ones a suffix, so each is unique."""
    names: list[str] = []
    seen: set[str] = set()
    for position, cell in enumerate(cells, start=1):
        base = " ".join(cell.split()) or f"#{position}"
        name, n = base, 1
        while name in seen:
            n += 1
            name = f"{base} ({n})"
        seen.add(name)
        names.append(name)
    while names and names[-1].startswith("#"):  # trailing empty columns of a spreadsheet export
        names.pop()
    return tuple(names)


def _detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), else GB18030 (Excel's Chinese CSV); refuse anything else."""
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as raw:
                while block := raw.read(_BLOCK):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        if encoding == "gb18030" and _looks_like_mojibake(path):
            raise FileProblem("ENCODING_GARBLED")
        return encoding
    raise FileProblem("ENCODING")


def _looks_like_mojibake(path: Path) -> bool:
    """Tell whether GB18030-decoded text is mostly rare characters: the sign of a Latin-1 or other file."""
    with path.open("rb") as raw:
        text = raw.read(_ENCODING_SAMPLE_BYTES).decode("gb18030", errors="ignore")
    common = rare = 0
    for character in text:
        if character.isascii():
            continue
        encoded = character.encode("gb18030")
        if len(encoded) == 2 and encoded[0] >= 0xA1 and encoded[1] >= 0xA1:
            common += 1
        else:
            rare += 1
    return rare > 3 and rare > MAX_RARE_GB_SHARE * (common + rare)


def _sniff_delimiter(text: str) -> str:
    first_line = text.splitlines()[0] if text else ""
    counts = {d: first_line.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_rows(path: Path, encoding: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    with path.open("r", encoding=encoding, newline="") as text:
        try:
            for number, cells in enumerate(csv.reader(text, delimiter=delimiter), start=1):
                yield number, _bounded_cells(number, [c.strip() for c in cells])
        except csv.Error as error:
            raise FileProblem("BAD_CSV", detail=str(error)) from None


def _check_unpacked_size(path: Path) -> None:
    """Refuse a workbook that would unpack to far more than its size: a zip bomb, or padding."""
    try:
        with zipfile.ZipFile(path) as package:
            members = package.infolist()
    except (zipfile.BadZipFile, OSError):
        raise FileProblem("NOT_XLSX") from None
    limit_mb = MAX_UNPACKED_BYTES // (1024 * 1024)
    if sum(member.file_size for member in members) > MAX_UNPACKED_BYTES:
        raise FileProblem("XLSX_UNPACKS_TOO_LARGE", limit_mb=limit_mb)
    for member in members:
        if member.filename.endswith("sharedStrings.xml") and member.file_size > MAX_SHARED_STRINGS_BYTES:
            raise FileProblem("XLSX_UNPACKS_TOO_LARGE", limit_mb=limit_mb)
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > 1024 * 1024 and ratio > MAX_COMPRESSION_RATIO:
            raise FileProblem("XLSX_UNPACKS_TOO_LARGE", limit_mb=limit_mb)


def _open_sheet(path: Path):
    from openpyxl import load_workbook

    _check_unpacked_size(path)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise FileProblem("NOT_XLSX") from None
    if not workbook.worksheets:
        workbook.close()
        raise FileProblem("NO_HEADER")
    return workbook, workbook.worksheets[0]


def _inspect_xlsx(path: Path, sha256: str, size: int, max_rows: int) -> FileInfo:
    workbook, sheet = _open_sheet(path)
    try:
        declared = sheet.max_row  # the size the sheet states, when it states one
        header_row, headers, data_rows = None, (), 0
        for number, cells in _xlsx_rows(sheet):
            if header_row is None:
                if any(cells):
                    header_row, headers = number, header_names(cells)
                    if declared and declared > header_row:
                        # The stated size is only an estimate shown before the import: the worker counts
                        # the rows as they stream (count_rows) before it records any of them.
                        data_rows = declared - header_row
                        break
                continue
            if any(cells):
                data_rows += 1
                if data_rows > max_rows:
                    break
    finally:
        workbook.close()
    if header_row is None:
        raise FileProblem("NO_HEADER")
    if data_rows > max_rows:
        raise FileProblem("TOO_MANY_ROWS", limit=max_rows)
    if data_rows == 0:
        raise FileProblem("NO_ROWS")
    return FileInfo(FileFormat.XLSX, None, None, header_row, headers, data_rows, sha256, size)


def _cell_text(cell) -> str:
    value = getattr(cell, "value", None)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        fmt = (getattr(cell, "number_format", "") or "").lower()
        if value.time() == dt.time(0) and "h" not in fmt and "s" not in fmt:
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes" if value.second == 0 else "seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat(timespec="minutes")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def _xlsx_rows(sheet) -> Iterator[tuple[int, list[str]]]:
    # Some exporters state a wrong sheet size, and read-only mode would stop there: read to the end.
    sheet.reset_dimensions()
    for number, row in enumerate(sheet.iter_rows(min_row=1), start=1):
        yield number, _bounded_cells(number, [_cell_text(cell) for cell in row])


def _bounded_cells(number: int, cells: list[str]) -> list[str]:
    """Refuse a row wider or a cell longer than any lab export writes, naming the row."""
    while cells and not cells[-1]:
        cells.pop()
    if len(cells) > MAX_COLUMNS:
        raise FileProblem("TOO_MANY_COLUMNS", row=number, limit=MAX_COLUMNS)
    if any(len(cell) > MAX_CELL_CHARS for cell in cells):
        raise FileProblem("CELL_TOO_LONG", row=number, limit=MAX_CELL_CHARS)
    return cells


def count_rows(path: Path, info: FileInfo, max_rows: int) -> int:
    """Count the data rows as they stream, refusing past `max_rows`; a sheet's stated size is not trusted."""
    data_rows = 0
    for _number, cells in iter_rows(path, info):
        if any(cells):
            data_rows += 1
            if data_rows > max_rows:
                raise FileProblem("TOO_MANY_ROWS", limit=max_rows)
    return data_rows


def iter_rows(path: Path, info: FileInfo, after_row: int = 0) -> Iterator[tuple[int, list[str]]]:
    """Yield (row number, cells) for each data row after the header (and after `after_row`)."""
    if info.format is FileFormat.XLSX:
        workbook, sheet = _open_sheet(path)
        try:
            for number, cells in _xlsx_rows(sheet):
                if number > info.header_row and number > after_row:
                    yield number, cells
        finally:
            workbook.close()
        return
    for number, cells in _csv_rows(path, info.encoding or "utf-8-sig", info.delimiter or ","):
        if number > info.header_row and number > after_row:
            yield number, cells


def preview(path: Path, info: FileInfo, limit: int = 10) -> list[tuple[int, list[str]]]:
    """Return the first data rows, for the user to check the columns before the import runs."""
    rows = []
    for number, cells in iter_rows(path, info):
        if not any(cells):
            continue
        rows.append((number, cells))
        if len(rows) >= limit:
            break
    return rows
