"""Word and PDF visit notes, parsed in a child process under CPU-time, wall-clock and memory limits.

A Word file is a zip whose directory may lie about sizes: the child inflates every part in small steps,
counting the bytes that actually come out, and refuses the file as soon as they pass the limits, before
python-docx reads anything. The parent turns every failure into an ``UploadRejected`` a clinician can act on.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

from core.errors import UploadRejected

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

ROOT = Path(__file__).resolve().parents[2]


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


def read_docx(filename: str, data: bytes) -> str:
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


def parse_child(kind: str, memory_bytes: int, cpu_s: int) -> None:
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
    parse_child("pdf", memory_bytes, cpu_s)


def _run_child(filename: str, data: bytes, kind: str, memory: int, cpu: int, timeout: int) -> dict:
    cmd = [sys.executable, "-c",
           f"from core.clinical.documents import parse_child; parse_child({kind!r}, {int(memory)}, {int(cpu)})"]
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


def read_pdf(filename: str, data: bytes) -> str:
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
