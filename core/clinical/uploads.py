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
import subprocess
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path

from core.errors import UploadRejected

__all__ = ["read_upload", "read_visit_batch", "parse_visit_date", "NOTE_TYPES", "BATCH_TYPES"]

NOTE_TYPES = (".txt", ".md", ".docx", ".pdf")
BATCH_TYPES = (".csv", ".jsonl")

# Word (DOCX) zip-bomb limits: checked on the zip directory, then again on the bytes actually inflated.
DOCX_MAX_ENTRIES = 1_000
DOCX_MAX_UNCOMPRESSED = 100 * 1024 * 1024
DOCX_MAX_XML = 32 * 1024 * 1024  # the text parts python-docx parses (word/*.xml), inflated
DOCX_MAX_RATIO = 100  # uncompressed / compressed, per entry and overall
INFLATE_STEP = 64 * 1024
# Child-process limits (PDF and Word).
PDF_TIMEOUT_S = 20
PDF_CPU_S = 15
PDF_MEMORY_BYTES = 1024 * 1024 * 1024
DOCX_TIMEOUT_S = 20
DOCX_CPU_S = 15
DOCX_MEMORY_BYTES = 768 * 1024 * 1024
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


# ---------------------------------------------------------------- DOCX
class _Refused(Exception):
    """Raised inside the child with the reason code sent back to the parent."""


def _check_zip(zf: zipfile.ZipFile) -> None:
    """The zip directory's own claims (cheap; a lying directory is caught by ``_inflate_all``)."""
    infos = zf.infolist()
    if len(infos) > DOCX_MAX_ENTRIES:
        raise _Refused(f"entries:{len(infos)}")
    total_u = sum(i.file_size for i in infos)
    total_c = sum(i.compress_size for i in infos)
    if total_u > DOCX_MAX_UNCOMPRESSED:
        raise _Refused(f"size:{total_u}")
    for info in infos:
        if info.file_size > 1024 * 1024 and info.file_size > DOCX_MAX_RATIO * max(info.compress_size, 1):
            raise _Refused("bomb")
    if total_u > 1024 * 1024 and total_u > DOCX_MAX_RATIO * max(total_c, 1):
        raise _Refused("bomb")
    if "word/document.xml" not in zf.namelist():
        raise _Refused("not-word")


def _inflate_all(zf: zipfile.ZipFile) -> None:
    """Inflate every part in ``INFLATE_STEP`` pieces, counting real output against the limits; CRC errors (a part
    that inflates to more or less than its directory says) surface as BadZipFile."""
    total = 0
    for info in zf.infolist():
        if info.is_dir():
            continue
        produced = 0
        xml = info.filename.startswith("word/") and info.filename.endswith(".xml")
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(INFLATE_STEP)
                if not chunk:
                    break
                produced += len(chunk)
                total += len(chunk)
                if produced > 1024 * 1024 and produced > DOCX_MAX_RATIO * max(info.compress_size, 1):
                    raise _Refused("bomb")
                if total > DOCX_MAX_UNCOMPRESSED or (xml and produced > DOCX_MAX_XML):
                    raise _Refused(f"size:{total}")
        if produced != info.file_size:
            raise _Refused("bomb")  # the directory lied about this part


def _docx_text(data: bytes) -> str:
    zf = zipfile.ZipFile(io.BytesIO(data))
    with zf:
        _check_zip(zf)
        _inflate_all(zf)
    import docx

    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append("\t".join(cell.text for cell in row.cells))
    return "\n".join(parts)


def _docx_message(filename: str, code: str) -> str:
    if code.startswith("entries:"):
        return f"{filename} has {int(code.split(':')[1]):,} parts inside; a Word note has far fewer. Refused."
    if code.startswith("size:"):
        return (f"{filename} expands to more than a Word note can ({DOCX_MAX_UNCOMPRESSED // 1024 // 1024} MB, "
                f"{DOCX_MAX_XML // 1024 // 1024} MB of text); refused as unsafe.")
    if code == "bomb":
        return f"{filename} is compressed suspiciously much (a 'zip bomb'); refused as unsafe."
    if code == "not-word":
        return f"{filename} is a ZIP file but not a Word document."
    if code == "not-zip":
        return f"{filename} is not a valid Word (.docx) file."
    return f"{filename} is a damaged Word (.docx) file and could not be read."


def _read_docx(filename: str, data: bytes) -> str:
    out = _run_child(filename, data, "docx", DOCX_MEMORY_BYTES, DOCX_CPU_S, DOCX_TIMEOUT_S)
    error = out.get("error")
    if error == "memory":
        raise UploadRejected(f"{filename} needed too much memory or time to read; it may be damaged or hostile.")
    if error:
        raise UploadRejected(_docx_message(filename, out.get("code", error)))
    return out.get("text", "")


# ---------------------------------------------------------------- the parsing child (PDF, DOCX)
def _pdf_text(data: bytes) -> dict:
    import logging

    logging.disable(logging.CRITICAL)
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        try:
            if not reader.decrypt(""):
                raise PermissionError
        except Exception:
            return {"error": "encrypted"}
    pages = [(page.extract_text() or "") for page in reader.pages]
    return {"text": "\n".join(pages), "pages": len(pages)}


def _parse_child(kind: str, memory_bytes: int, cpu_s: int) -> None:
    """Runs in a child process: file bytes on stdin, JSON on stdout, under rlimits it sets first."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    data = sys.stdin.buffer.read()
    try:
        if kind == "pdf":
            out = _pdf_text(data)
        else:
            try:
                out = {"text": _docx_text(data)}
            except _Refused as exc:
                out = {"error": "refused", "code": str(exc)}
            except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
                out = {"error": "refused", "code": "bomb" if "CRC" in str(exc) else "not-zip"}
    except MemoryError:
        out = {"error": "memory"}
    except Exception as exc:  # a damaged file raises many types
        out = {"error": "malformed", "detail": type(exc).__name__}
    sys.stdout.write(json.dumps(out, ensure_ascii=True))


def _pdf_child(memory_bytes: int, cpu_s: int) -> None:
    _parse_child("pdf", memory_bytes, cpu_s)


def _run_child(filename: str, data: bytes, kind: str, memory: int, cpu: int, timeout: int) -> dict:
    cmd = [sys.executable, "-c",
           f"from core.clinical.uploads import _parse_child; _parse_child({kind!r}, {int(memory)}, {int(cpu)})"]
    try:
        proc = subprocess.run(cmd, input=data, capture_output=True, timeout=timeout, cwd=str(ROOT),
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"})
    except subprocess.TimeoutExpired as exc:
        raise UploadRejected(f"{filename} took too long to read (over {timeout} s); it may be damaged.") from exc
    try:
        out = json.loads(proc.stdout.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        out = {"error": "memory" if proc.returncode != 0 else "malformed"}
    if proc.returncode < 0 and not out.get("error"):
        out = {"error": "memory"}
    return out


def _read_pdf(filename: str, data: bytes) -> str:
    out = _run_child(filename, data, "pdf", PDF_MEMORY_BYTES, PDF_CPU_S, PDF_TIMEOUT_S)
    error = out.get("error")
    if error == "encrypted":
        raise UploadRejected(f"{filename} is password-protected; save an unprotected copy and upload that.")
    if error == "memory":
        raise UploadRejected(f"{filename} needed too much memory or time to read; it may be damaged or hostile.")
    if error:
        raise UploadRejected(f"{filename} is a damaged PDF and could not be read.")
    text = out.get("text", "")
    if not text.strip():
        raise UploadRejected(f"{filename} has no selectable text (a scanned image?); paste the note instead.")
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
        text = _read_pdf(filename, data)
    elif ext == ".docx":
        if not data.startswith(b"PK\x03\x04"):
            raise UploadRejected(f"{filename} is named .docx but is not a Word document.")
        text = _read_docx(filename, data)
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


def _batch_rows(filename: str, ext: str, text: str) -> list[tuple[int, dict]]:
    """(line number, row) pairs with lower-cased, stripped keys."""
    rows: list[tuple[int, dict]] = []
    if ext == ".csv":
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(io.StringIO(text), dialect=dialect)
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
