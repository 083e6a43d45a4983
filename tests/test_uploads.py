"""Uploads: size cap, type sniffing, encodings, DOCX zip bombs, PDF under limits, batch files."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from core.clinical import documents
from core.clinical.uploads import parse_visit_date, read_upload, read_visit_batch
from core.errors import UploadRejected
from tests import robustness


def _docx(text: str) -> bytes:
    import docx

    d = docx.Document()
    d.add_paragraph(text)
    table = d.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "PHQ-9"
    table.rows[0].cells[1].text = "14"
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _pdf(text: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(w=0, text=text)
    return bytes(pdf.output())


def rejected(filename, data, settings, match):
    with robustness.case("upload"), pytest.raises(UploadRejected, match=match):
        read_upload(filename, data, settings)


# ---------------------------------------------------------------- good files
def test_plain_text_and_markdown(settings):
    assert read_upload("n.txt", b"Low mood.\r\nPoor sleep.\r\n", settings) == "Low mood.\nPoor sleep."
    assert read_upload("n.md", b"# Visit\n- anxious", settings) == "# Visit\n- anxious"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le-bom", "utf-32", "cp1252"])
def test_encodings_are_detected(settings, encoding):
    text = "Patient Zoë feels désespérée; naïve café — “quotes” ok."
    if encoding == "utf-16-le-bom":
        data = b"\xff\xfe" + text.encode("utf-16-le")
    else:
        data = text.encode(encoding)
    assert read_upload("n.txt", data, settings) == text


def test_cyrillic_legacy_encoding(settings):
    text = "Пациент спит плохо, настроение низкое, аппетит снижен."
    assert read_upload("n.txt", text.encode("cp1251"), settings) == text


def test_docx_paragraphs_and_tables(settings):
    out = read_upload("visit.docx", _docx("Reports anhedonia."), settings)
    assert "Reports anhedonia." in out and "PHQ-9\t14" in out


def test_pdf_text_is_extracted_in_a_subprocess(settings):
    assert "Sleep improved" in read_upload("visit.pdf", _pdf("Sleep improved this week."), settings)


# ---------------------------------------------------------------- refusals
def test_size_cap_is_configurable(settings):
    small = settings.replace(max_upload_mb=1)
    rejected("big.txt", b"a" * (1024 * 1024 + 1), small, "limit is 1 MB")
    assert read_upload("ok.txt", b"a" * (1024 * 1024 - 10), small)


def test_default_size_cap_is_10_mb(settings):
    assert settings.max_upload_mb == 10
    rejected("big.txt", b"a" * (10 * 1024 * 1024 + 1), settings, "limit is 10 MB")


@pytest.mark.parametrize("data", [b"", b"   \n\t  ", b"\xef\xbb\xbf", b"\xff\xfe"])
def test_empty_files(settings, data):
    rejected("empty.txt", data, settings, "empty|no text")


@pytest.mark.parametrize("data,label", [
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "PNG"),
    (b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "program"),
    (b"%PDF-1.4\n...", "PDF"),
    (b"PK\x03\x04" + b"\x00" * 100, "ZIP"),
    (bytes(range(256)) * 20, "binary"),
    (b"SQLite format 3\x00" + b"\x00" * 100, "database"),
])
def test_binary_renamed_to_txt_is_refused(settings, data, label):
    rejected("notes.txt", data, settings, label)


@pytest.mark.parametrize("name,data", [
    ("notes.exe", b"hello"), ("notes", b"hello"), ("notes.html", b"<script>"), ("a.docx.exe", b"x"),
])
def test_unsupported_extensions(settings, name, data):
    rejected(name, data, settings, "only")


def test_renamed_formats_are_refused(settings):
    rejected("fake.pdf", b"just some text", settings, "not a PDF")
    rejected("fake.docx", b"just some text", settings, "not a Word")
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        zf.writestr("readme.txt", "hello")
    rejected("fake.docx", zbuf.getvalue(), settings, "not a Word")


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def test_docx_zip_bomb_ratio(settings):
    bomb = _zip([("word/document.xml", b"\x00" * (20 * 1024 * 1024))])
    assert len(bomb) < 100_000
    rejected("bomb.docx", bomb, settings, "zip bomb")


def test_docx_zip_bomb_total_size(settings):
    bomb = _zip([(f"word/media/{i}.bin", b"\x00" * (30 * 1024 * 1024)) for i in range(4)]
                + [("word/document.xml", b"<x/>")])
    rejected("bomb.docx", bomb, settings, "expand")


def test_docx_too_many_entries(settings):
    bomb = _zip([(f"word/p{i}.xml", b"") for i in range(documents.DOCX_MAX_ENTRIES + 1)]
                + [("word/document.xml", b"<x/>")])
    rejected("many.docx", bomb, settings, "parts")


def test_docx_lying_size_header_is_caught(settings):
    """A zip whose directory understates sizes: zipfile stops at the declared size and the CRC fails."""
    good = _docx("hello")
    damaged = bytearray(good)
    idx = damaged.find(b"word/document.xml", damaged.find(b"PK\x01\x02"))
    assert idx > 0
    rejected("damaged.docx", bytes(damaged[: len(damaged) // 2]), settings, "Word")


def test_damaged_docx(settings):
    rejected("d.docx", _docx("hello")[:-200], settings, "Word")


def test_malformed_pdf(settings):
    rejected("bad.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage\n%%EOF", settings, "damaged|no selectable")
    rejected("bad.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 100, settings, "damaged|no selectable")
    rejected("bad.pdf", _pdf("Hello there")[:300], settings, "damaged|no selectable")


def test_pdf_without_text(settings):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    rejected("scan.pdf", bytes(pdf.output()), settings, "no selectable text")


def test_encrypted_pdf(settings):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf("secret"))))
    writer.encrypt("pw")
    buf = io.BytesIO()
    writer.write(buf)
    rejected("locked.pdf", buf.getvalue(), settings, "password")


def test_pdf_time_limit(settings, monkeypatch):
    monkeypatch.setattr(documents, "PDF_TIMEOUT_S", 0.05)
    rejected("slow.pdf", _pdf("x"), settings, "too long")


def test_pdf_memory_limit_is_enforced_in_the_child(settings, monkeypatch):
    # With 15 MB of address space the child cannot even load pypdf: the limit is real, and the refusal clean.
    monkeypatch.setattr(documents, "PDF_MEMORY_BYTES", 15 * 1024 * 1024)
    rejected("big.pdf", _pdf("x"), settings, "memory")


def _inflating_pdf(n: int) -> bytes:
    """A 70 KB PDF whose page content inflates to ``n`` bytes (a PDF 'decompression bomb')."""
    import zlib

    body = zlib.compress(b" " * n, 9)
    objs = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
            b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>>",
            b"<</Length %d/Filter/FlateDecode>>\nstream\n" % len(body) + body + b"\nendstream"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


@pytest.mark.parametrize("mb", [60, 1024])
def test_pdf_decompression_bomb_is_contained(settings, monkeypatch, mb):
    monkeypatch.setattr(documents, "PDF_MEMORY_BYTES", mb * 1024 * 1024)
    rejected("bomb.pdf", _inflating_pdf(70_000_000), settings, "memory|no selectable|damaged")


def test_filename_with_path_is_reduced_to_its_name(settings):
    with pytest.raises(UploadRejected) as info:
        read_upload("../../etc/passwd.txt", b"", settings)
    assert "etc" not in str(info.value)


# ---------------------------------------------------------------- batch import
@pytest.mark.parametrize("value,iso", [
    ("2026-03-04", "2026-03-04"), ("2026/03/04", "2026-03-04"), ("2026-03-04T10:30:00", "2026-03-04"),
    ("13/04/2026", "2026-04-13"), ("04/13/2026", "2026-04-13"), ("04.03.2026", "2026-03-04"),
    ("4 Mar 2026", "2026-03-04"), ("March 4, 2026", "2026-03-04"), ("05/05/2026", "2026-05-05"),
])
def test_visit_dates(value, iso):
    assert parse_visit_date(value) == iso


@pytest.mark.parametrize("value,why", [
    ("2026-02-30", "not a real date"), ("03/04/2026", "ambiguous"), ("", "missing"), (None, "missing"),
    ("yesterday", "not a date"), ("31 Foo 2026", "unknown month"), ("2026-13-01", "not a real date"),
])
def test_bad_visit_dates(value, why):
    with robustness.case("batch-date", expected=(ValueError,)), pytest.raises(ValueError, match=why):
        parse_visit_date(value)


def test_csv_batch(settings):
    data = (b"visit_date,text,source\n2026-01-05,\"Low mood,\nslept badly\",clinic\n"
            b"12 Jan 2026,Better.,\n")
    rows = read_visit_batch("visits.csv", data, settings)
    assert rows == [
        {"visit_date": "2026-01-05", "text": "Low mood,\nslept badly", "source": "clinic"},
        {"visit_date": "2026-01-12", "text": "Better."},
    ]


def test_csv_batch_semicolons_and_bom(settings):
    data = "\ufeffVisit_Date;Text\n2026-01-05;Müde\n".encode()
    assert read_visit_batch("v.csv", data, settings) == [{"visit_date": "2026-01-05", "text": "Müde"}]


def test_csv_delimiter_comes_from_the_header_not_from_the_notes(settings):
    """Found by the fuzzer: a note of ";'';" made csv.Sniffer pick ';' and "'", and the file was refused for lacking
    the columns its header names. Notes full of semicolons and apostrophes are ordinary clinical text."""
    data = (b"visit_date,text\r\n2000-01-01,;'';\r\n"
            b"2026-01-05,\"Mood low; 'can't sleep'; sister's visit helped; plan: review.\"\r\n")
    assert read_visit_batch("v.csv", data, settings) == [
        {"visit_date": "2000-01-01", "text": ";'';"},
        {"visit_date": "2026-01-05", "text": "Mood low; 'can't sleep'; sister's visit helped; plan: review."}]
    european = "visit_date;text\n2026-01-05;Müde, schläft schlecht, Appetit gut\n".encode()
    assert read_visit_batch("v.csv", european, settings) == [
        {"visit_date": "2026-01-05", "text": "Müde, schläft schlecht, Appetit gut"}]
    tabs = b"visit_date\ttext\n2026-01-05\tLow; tired, 'flat'\n"
    assert read_visit_batch("v.csv", tabs, settings) == [{"visit_date": "2026-01-05", "text": "Low; tired, 'flat'"}]


def test_jsonl_batch(settings):
    lines = [{"visit_date": "2026-01-05", "text": "a"}, {"visit_date": "2026-02-01", "text": "b", "source": "x"}]
    data = "\n".join(json.dumps(x) for x in lines).encode() + b"\n\n"
    assert read_visit_batch("v.jsonl", data, settings) == [
        {"visit_date": "2026-01-05", "text": "a"}, {"visit_date": "2026-02-01", "text": "b", "source": "x"}]


def _batch_rejected(name, data, settings, match):
    with robustness.case("batch"), pytest.raises(UploadRejected, match=match):
        read_visit_batch(name, data, settings)


def test_batch_names_every_bad_row(settings):
    data = b"visit_date,text\n2026-01-05,ok\n2026-02-30,impossible\n,no date\n2026-03-01,\n2026-03-02,fine\n"
    with pytest.raises(UploadRejected) as info:
        read_visit_batch("v.csv", data, settings)
    msg = str(info.value)
    assert "nothing was imported" in msg
    assert "line 3" in msg and "not a real date" in msg
    assert "line 4" in msg and "missing" in msg
    assert "line 5" in msg and "empty" in msg
    assert "line 2" not in msg and "line 6" not in msg


def test_batch_structural_problems(settings):
    _batch_rejected("v.csv", b"date,note\n2026-01-01,x\n", settings, "lacks the column")
    _batch_rejected("v.csv", b"visit_date,text\n", settings, "no visits")
    _batch_rejected("v.csv", b"visit_date,text\n2026-01-01,a,b\n", settings, "more cells")
    _batch_rejected("v.jsonl", b'{"visit_date": "2026-01-01"}\n', settings, "lacks the field")
    _batch_rejected("v.jsonl", b'{"visit_date": "2026-01-01", "text": "a"}\n{broken\n', settings, "line 2")
    _batch_rejected("v.jsonl", b'[1, 2]\n', settings, "JSON object")
    _batch_rejected("v.jsonl", b'{"visit_date": "2026-01-01", "text": 5}\n', settings, "empty")
    _batch_rejected("v.xlsx", b"PK\x03\x04", settings, "csv or .jsonl")
    _batch_rejected("v.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, settings, "not a text file")
    _batch_rejected("v.csv", b"", settings, "empty")


def test_batch_import_is_all_or_nothing_through_the_service(settings, store, users):
    from core.clinical import patients
    from core.context import Context

    ctx = Context(settings=settings, store=store, user=users["psy"])
    pid = patients.create_patient(ctx, "P-100", consent_ml=True)
    with pytest.raises(UploadRejected):
        patients.import_visits(ctx, pid, "v.csv", b"visit_date,text\n2026-01-01,ok\n2026-01-02,\n")
    assert patients.list_visits(ctx, pid) == []
    ids = patients.import_visits(ctx, pid, "v.csv", b"visit_date,text\n2026-01-01,ok\n2026-01-02,fine\n")
    assert len(ids) == 2
