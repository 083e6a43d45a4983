"""A .docx whose zip directory lies about its sizes must not inflate in the dashboard process.

The file declares 2,000 bytes for ``word/document.xml`` while the part inflates to 600 MB (about 1000:1). The
upload is read in a fresh process (the stand-in for the dashboard) under a 1.5 GB address-space cap so a
regression cannot take the machine down; its own peak RSS (VmHWM, children excluded) must stay under 300 MB and
the file must be refused with a clear message.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zipfile
import zlib

import pytest

from tests.attack.conftest import ROOT, record

INFLATED_MB = 600
DECLARED = 2_000
PEAK_LIMIT_MB = 300


def _minimal_docx() -> dict[str, bytes]:
    import docx

    buf = io.BytesIO()
    d = docx.Document()
    d.add_paragraph("Patient reports low mood.")
    d.save(buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def size_lying_docx(inflated_mb: int = INFLATED_MB, declared: int = DECLARED) -> bytes:
    """A real .docx whose document.xml is replaced by ``inflated_mb`` MB of XML-looking filler, with the zip's
    local header and central directory both claiming ``declared`` bytes."""
    parts = _minimal_docx()
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    crc = 0
    compressed = []
    head = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document>'
    crc = zlib.crc32(head, crc)
    compressed.append(comp.compress(head))
    block = b" " * (1024 * 1024)
    for _ in range(inflated_mb):
        crc = zlib.crc32(block, crc)
        compressed.append(comp.compress(block))
    compressed.append(comp.flush())
    body = b"".join(compressed)

    out = io.BytesIO()
    central = []
    for name, data in parts.items():
        if name == "word/document.xml":
            payload, c, size, method = body, crc, declared, 8
        else:
            payload, c, size, method = data, zlib.crc32(data), len(data), 0
        offset = out.tell()
        fname = name.encode()
        out.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, method, 0, 0x21, c, len(payload), size,
                              len(fname), 0) + fname + payload)
        central.append(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, c,
                                   len(payload), size, len(fname), 0, 0, 0, 0, 0, offset) + fname)
    start = out.tell()
    for entry in central:
        out.write(entry)
    out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(central), len(central), out.tell() - start,
                          start, 0))
    return out.getvalue()


MEASURE = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024 * 1024, 1536 * 1024 * 1024))
from core.clinical.uploads import read_upload
from core.errors import UploadRejected
from core.settings import load_settings
data = open(sys.argv[1], 'rb').read()
try:
    read_upload('hostile.docx', data, load_settings(env={}))
    outcome = 'accepted'
except UploadRejected as exc:
    outcome = 'refused: ' + str(exc)
except MemoryError:
    outcome = 'crashed: MemoryError'
# VmHWM: this process's own peak RSS since exec (ru_maxrss would keep the forking parent's peak across exec).
peak = next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM:')) / 1024
print(json.dumps({'outcome': outcome, 'peak_mb': peak}))
"""


def _measure(path) -> dict:
    proc = subprocess.run([sys.executable, "-c", MEASURE, str(path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                            "MHD_CONFIG": str(ROOT / ".no-config-for-tests")})
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"the measuring process died (rc {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(lines[-1])


def test_size_lying_docx_is_refused_without_inflating_in_the_dashboard(tmp_path):
    data = size_lying_docx()
    assert len(data) < 2_000_000  # about 1.4 MB on the wire (0.6 MB of it the bomb), 600 MB inflated
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.getinfo("word/document.xml").file_size == DECLARED  # the directory lies
    path = tmp_path / "hostile.docx"
    path.write_bytes(data)
    result = _measure(path)
    record("peak RSS of the dashboard process on a size-lying .docx (1.4 MB file declaring 2 kB, 600 MB inflated)",
           f"{result['peak_mb']:.0f} MB ({result['outcome'][:40]})")
    assert result["outcome"].startswith("refused"), result
    assert "zip bomb" in result["outcome"] or "unsafe" in result["outcome"], result
    assert result["peak_mb"] < PEAK_LIMIT_MB, result


def test_an_honest_docx_still_reads(tmp_path):
    from core.clinical.uploads import read_upload
    from core.settings import load_settings

    parts = _minimal_docx()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    assert read_upload("note.docx", buf.getvalue(), load_settings(env={})) == "Patient reports low mood."


@pytest.mark.parametrize("inflated_mb", [3])
def test_a_part_larger_than_declared_is_refused_even_when_small(inflated_mb):
    from core.clinical.uploads import read_upload
    from core.errors import UploadRejected
    from core.settings import load_settings

    with pytest.raises(UploadRejected, match="zip bomb|unsafe"):
        read_upload("small-liar.docx", size_lying_docx(inflated_mb), load_settings(env={}))
