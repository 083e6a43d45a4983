"""Reading uploaded visit notes and batch files, defensively.

Every upload is treated as hostile until proven otherwise: the size is capped
before anything is parsed, the type is decided by the bytes (a binary renamed
``.txt`` is refused), and Word and PDF files are parsed in a child process under
a CPU-time, wall-clock and memory limit, so a malicious file cannot take the
dashboard down. A Word file is a zip whose directory may lie about sizes: the
child inflates every part in small steps, counting the bytes that actually come
out, and refuses the file as soon as they pass the limits, before python-docx
reads anything. Every refusal is an ``UploadRejected`` whose message a clinician
can act on. Batch JSONL rows nested deeper than ``JSONL_MAX_DEPTH`` are refused
with the line number instead of exhausting the parser.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from datetime import date, datetime
from pathlib import Path

from core.clinical.documents import read_docx, read_pdf
from core.errors import UploadRejected

__all__ = ["read_upload", "read_visit_batch", "parse_visit_date", "NOTE_TYPES", "BATCH_TYPES"]

NOTE_TYPES = (".txt", ".md", ".docx", ".pdf")
BATCH_TYPES = (".csv", ".jsonl")

# Nesting depth of a JSONL row (objects and arrays).
JSONL_MAX_DEPTH = 32
# Batch files.
BATCH_MAX_ROWS = 20_000
MAX_ERRORS_SHOWN = 5

ROOT = Path(__file__).resolve().parents[2]

# Magic numbers of common binary formats that are never a visit note.
_BINARY_MAGIC = {
    b"%PDF-": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (Word, Excel or similar)",
    b"PK\x05\x06": "a ZIP archive",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x7fELF": "a program",
    b"MZ": "a Windows program",
    b"\x1f\x8b": "a compressed (gzip) file",
    b"\xd0\xcf\x11\xe0": "an old-style Office document (.doc/.xls); save it as .docx",
    b"SQLite format 3": "a database file",
    b"{\\rtf": "an RTF document; save it as .docx or .txt",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"Rar!": "a RAR archive",
}


def _kind_of(data: bytes) -> str | None:
    for magic, label in _BINARY_MAGIC.items():
        if data.startswith(magic):
            return label
    return None


def _check_size(filename: str, data: bytes, settings) -> None:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise UploadRejected("The upload could not be read as a file.")
    limit = int(settings.max_upload_mb) * 1024 * 1024
    if len(data) > limit:
        raise UploadRejected(
            f"{filename} is {len(data) / 1024 / 1024:.1f} MB; the limit is {settings.max_upload_mb} MB."
        )
    if len(data) == 0:
        raise UploadRejected(f"{filename} is empty.")


def _suffix(filename: str) -> str:
    return Path(str(filename)).suffix.lower()


# ---------------------------------------------------------------- text decoding
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def decode_text(filename: str, data: bytes) -> str:
    """Bytes of a plain-text file to str: BOMs first, then strict UTF-8, then detection, then cp1252."""
    data = bytes(data)
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise UploadRejected(f"{filename} says it is {codec.upper()} text but is damaged.") from exc
    label = _kind_of(data)
    if label:
        raise UploadRejected(f"{filename} is not a text file: it contains {label}.")
    if b"\x00" in data[:8192]:
        # UTF-16 without a BOM is rare; NUL bytes almost always mean binary data.
        raise UploadRejected(f"{filename} is not a text file: it contains binary data.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None:
        # Mostly ASCII with a few accented bytes is Western (cp1252); detectors guess badly on short notes.
        ascii_share = sum(b < 0x80 for b in data[:65536]) / max(1, len(data[:65536]))
        encoding = "cp1252"
        if ascii_share < 0.8:
            from charset_normalizer import from_bytes

            best = from_bytes(data).best()
            encoding = best.encoding if best is not None else "cp1252"
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            text = data.decode("cp1252", errors="replace")
    sample = text[:20_000]
    if sample and len(_CONTROL.findall(sample)) > max(8, len(sample) // 100):
        raise UploadRejected(f"{filename} is not a text file: it contains binary data.")
    return text


def _clean(filename: str, text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = _CONTROL.sub("", text).strip()
    if not text:
        raise UploadRejected(f"{filename} contains no text.")
    return text



# ---------------------------------------------------------------- public API
def read_upload(filename: str, data: bytes, settings) -> str:
    """The text of an uploaded .txt/.md/.docx/.pdf visit note, or UploadRejected saying why not."""
    filename = Path(str(filename or "upload")).name[:120] or "upload"
    _check_size(filename, data, settings)
    data = bytes(data)
    ext = _suffix(filename)
    if ext not in NOTE_TYPES:
        raise UploadRejected(f"{filename}: only {', '.join(NOTE_TYPES)} notes can be uploaded.")
    if ext == ".pdf":
        if not data.lstrip()[:1024].startswith(b"%PDF-") and b"%PDF-" not in data[:1024]:
            raise UploadRejected(f"{filename} is named .pdf but is not a PDF document.")
        text = read_pdf(filename, data)
    elif ext == ".docx":
        if not data.startswith(b"PK\x03\x04"):
            raise UploadRejected(f"{filename} is named .docx but is not a Word document.")
        text = read_docx(filename, data)
    else:
        text = decode_text(filename, data)
    return _clean(filename, text)


_MONTHS = {m.lower(): i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_DMY_SEP = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$")
_YMD = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ].*)?$")
_D_MON_Y = re.compile(r"^(\d{1,2})\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})$")
_MON_D_Y = re.compile(r"^([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})$")


def parse_visit_date(value) -> str:
    """A visit date in ISO or a common format to YYYY-MM-DD; ValueError with the reason otherwise.

    Day/month order is only guessed when it is unambiguous (03/04/2026 is refused, 13/04/2026 is 13 April).
    """
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value if value is not None else "").strip()
    if not text:
        raise ValueError("the visit date is missing")

    def build(y, m, d) -> str:
        try:
            return date(int(y), int(m), int(d)).isoformat()
        except ValueError:
            raise ValueError(f"{text!r} is not a real date") from None

    if m := _YMD.match(text):
        return build(*m.groups())
    if m := _DMY_SEP.match(text):
        a, b, y = int(m.group(1)), int(m.group(2)), m.group(3)
        if "." in text or a > 12:
            return build(y, b, a)  # day first (European)
        if b > 12:
            return build(y, a, b)  # month first (US)
        if a == b:
            return build(y, a, b)
        raise ValueError(f"{text!r} is ambiguous (day/month or month/day?); use YYYY-MM-DD")
    for rx, order in ((_D_MON_Y, "dmy"), (_MON_D_Y, "mdy")):
        if m := rx.match(text):
            g = m.groups()
            d, mon, y = (g[0], g[1], g[2]) if order == "dmy" else (g[1], g[0], g[2])
            month = _MONTHS.get(mon[:3].lower())
            if month is None:
                raise ValueError(f"{text!r}: unknown month {mon!r}")
            return build(y, month, d)
    raise ValueError(f"{text!r} is not a date (use YYYY-MM-DD)")


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]")


def json_depth(line: str) -> int:
    """The deepest nesting of objects/arrays in one JSON text (strings ignored), without parsing it. A line with
    at most ``JSONL_MAX_DEPTH`` brackets cannot be nested deeper: its bracket count is returned (an upper bound)."""
    opening = line.count("[") + line.count("{")
    if opening <= JSONL_MAX_DEPTH:
        return opening
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", line))
    depth = deepest = 0
    for ch in brackets:
        depth += 1 if ch in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _csv_dialect(text: str):
    """The CSV dialect of a visits file. The header names the columns, so the delimiter that splits it into
    visit_date and text wins (with standard quoting). Only a header that names neither under any delimiter is
    left to csv.Sniffer: on a note such as ";'';" the sniffer chose ';' and "'" and the file was refused for
    lacking the columns its header plainly has."""
    header = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    for delimiter in (",", ";", "\t"):
        try:
            names = {c.strip().lower() for c in next(csv.reader([header], delimiter=delimiter), [])}
        except csv.Error:
            continue
        if {"visit_date", "text"} <= names:
            return type("HeaderDialect", (csv.excel,), {"delimiter": delimiter})
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _batch_rows(filename: str, ext: str, text: str) -> list[tuple[int, dict]]:
    """(line number, row) pairs with lower-cased, stripped keys."""
    rows: list[tuple[int, dict]] = []
    if ext == ".csv":
        reader = csv.DictReader(io.StringIO(text), dialect=_csv_dialect(text))
        try:
            fields = [str(f or "").strip().lower() for f in (reader.fieldnames or [])]
            missing = [c for c in ("visit_date", "text") if c not in fields]
            if missing:
                found = ", ".join(f for f in fields if f) or "none"
                raise UploadRejected(f"{filename} lacks the column(s) {', '.join(missing)} (found: {found}).")
            for raw in reader:
                row = {str(k or "").strip().lower(): v for k, v in raw.items() if k is not None}
                if None in raw and any(x for x in raw[None] or []):
                    row["__extra__"] = True
                rows.append((reader.line_num, row))
                if len(rows) > BATCH_MAX_ROWS:
                    break
        except csv.Error as exc:
            raise UploadRejected(f"{filename} line {reader.line_num}: not valid CSV ({exc}).") from exc
    else:
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            if json_depth(line) > JSONL_MAX_DEPTH:
                raise UploadRejected(f"{filename} line {n}: nested more than {JSONL_MAX_DEPTH} levels deep; a visit "
                                     "row is a flat object with visit_date and text.")
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UploadRejected(f"{filename} line {n}: not valid JSON ({exc.msg}).") from exc
            except RecursionError as exc:
                raise UploadRejected(f"{filename} line {n}: nested too deeply to read.") from exc
            if not isinstance(obj, dict):
                raise UploadRejected(f"{filename} line {n}: each line must be a JSON object with visit_date and text.")
            rows.append((n, {str(k).strip().lower(): v for k, v in obj.items()}))
            if len(rows) > BATCH_MAX_ROWS:
                break
    if len(rows) > BATCH_MAX_ROWS:
        raise UploadRejected(f"{filename} has more than {BATCH_MAX_ROWS:,} visits; split it into smaller files.")
    return rows


def read_visit_batch(filename: str, data: bytes, settings) -> list[dict]:
    """Many dated visits from a .csv or .jsonl (columns visit_date, text; optional source).

    Everything is validated before anything is returned, so the caller can insert all-or-nothing;
    problems are reported by line, several at once.
    """
    filename = Path(str(filename or "upload")).name[:120] or "upload"
    _check_size(filename, data, settings)
    ext = _suffix(filename)
    if ext not in BATCH_TYPES:
        raise UploadRejected(f"{filename}: batch imports must be {' or '.join(BATCH_TYPES)} files.")
    text = decode_text(filename, bytes(data)).lstrip("\ufeff")
    rows = _batch_rows(filename, ext, text)
    if not rows:
        raise UploadRejected(f"{filename} contains no visits.")
    if ext == ".jsonl":
        keys = set().union(*(r.keys() for _, r in rows))
        missing = [c for c in ("visit_date", "text") if c not in keys]
        if missing:
            raise UploadRejected(f"{filename} lacks the field(s) {', '.join(missing)}.")
    visits, errors = [], []
    max_chars = int(getattr(settings, "max_text_chars", 200_000))
    for line, row in rows:
        problems = []
        try:
            visit_date = parse_visit_date(row.get("visit_date"))
        except ValueError as exc:
            problems.append(str(exc))
            visit_date = None
        body = row.get("text")
        if not isinstance(body, str) or not body.replace("\x00", "").strip():
            problems.append("the text is empty")
        elif len(body) > max_chars:
            problems.append(f"the text is {len(body):,} characters (limit {max_chars:,})")
        else:
            try:
                body.encode("utf-8")
            except UnicodeEncodeError:
                problems.append("the text contains characters that are not valid text")
        if row.get("__extra__"):
            problems.append("the row has more cells than the header (a stray delimiter?)")
        if problems:
            errors.append(f"line {line}: {'; '.join(problems)}")
            continue
        source = row.get("source")
        item = {"visit_date": visit_date, "text": _CONTROL.sub("", body.replace("\r\n", "\n")).strip()}
        if isinstance(source, str) and source.strip():
            item["source"] = source.strip()[:200]
        visits.append(item)
    if errors:
        more = f" (and {len(errors) - MAX_ERRORS_SHOWN} more)" if len(errors) > MAX_ERRORS_SHOWN else ""
        raise UploadRejected(
            f"{filename}: nothing was imported. Fix {'this row' if len(errors) == 1 else 'these rows'}: "
            + "; ".join(errors[:MAX_ERRORS_SHOWN]) + more + "."
        )
    return visits
