"""The layered crisis check with the real embedded encoder: semantic flags, contrast, rules-only fallback,
long notes, the evaluation set's shape and the evaluate-crisis command."""

import csv
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from core.safety.crisis_check import CrisisAssessment, assess_crisis

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "data" / "crisis_eval.csv"


@pytest.fixture(scope="module")
def encoder():
    from core.models.encoder import load_encoder
    from core.settings import load_settings

    return load_encoder(load_settings(env={}))


def test_evaluation_set_has_the_promised_shape():
    rows = list(csv.DictReader(EVAL.open(encoding="utf-8")))
    assert len(rows) >= 300
    expect = Counter(r["expect"] for r in rows)
    assert set(expect) == {"crisis", "none"} and expect["none"] >= 120
    crisis = [r for r in rows if r["expect"] == "crisis"]
    assert {"first", "third"} <= {r["person"] for r in crisis}
    assert {"present", "past"} <= {r["tense"] for r in crisis}
    assert {"direct", "indirect"} <= {r["directness"] for r in crisis}
    assert {"en", "es", "fr", "de", "pt", "it"} <= {r["language"] for r in crisis}
    assert {"preparatory acts", "slang", "misspelling", "past attempt", "self-harm"} <= {r["category"] for r in crisis}
    assert {"dev", "heldout"} == {r["split"] for r in rows}
    assert len({r["text"] for r in rows}) == len(rows)


def test_exemplar_bank_does_not_copy_the_evaluation_set():
    from core.safety.crisis_semantic import load_bank

    bank = load_bank()
    exemplars = {s.lower() for part in bank.values() for items in part.values() for s in items}
    texts = {r["text"].lower() for r in csv.DictReader(EVAL.open(encoding="utf-8"))}
    assert not exemplars & texts


def test_without_the_encoder_the_rules_run_and_the_result_says_so():
    result = assess_crisis("She says she wants to kill herself.", None)
    assert result.flagged and result.flags[0].layer == "rule" and result.flags[0].phrase == "kill herself"
    assert result.semantic == "off" and "not loaded" in result.semantic_note


@pytest.mark.slow
def test_semantic_layer_flags_what_no_rule_names(encoder):
    text = "Appointment ran late. I gave my dog to my neighbour since I won't be around to look after him."
    assert not assess_crisis(text, None).flagged  # no phrase rule for this
    result = assess_crisis(text, encoder)
    assert result.semantic == "on" and result.flagged
    [flag] = result.flags
    assert flag.layer == "semantic" and flag.score is not None and flag.sentence.startswith("I gave my dog")
    assert text[flag.start:flag.end] == flag.sentence


@pytest.mark.slow
@pytest.mark.parametrize("text", [
    "Patient denies suicidal ideation, intent or plan.",
    "I'm dying to see the new exhibition.",
    "Her maternal uncle died by suicide; patient denies current suicidal ideation.",
    "We ran a suicide prevention training for the new nurses.",
    "Mood improved, sleeping well, back at work.",
])
def test_semantic_layer_does_not_flag_contrast_sentences(encoder, text):
    result = assess_crisis(text, encoder)
    assert result.semantic == "on" and not result.flagged, [f.describe() for f in result.flags]


@pytest.mark.slow
def test_every_sentence_of_a_20000_word_note_is_checked(encoder):
    from core.safety.crisis_semantic import split_units

    sentence = "We talked about her week at work and the garden. "
    filler = sentence * 2200  # ~20,000 words
    text = filler + "I gave my dog to my sister because I won't be needing him anymore."
    units = split_units(text)
    assert units[-1].end == len(text) and len(units) > 2000
    result = assess_crisis(text, encoder)
    assert result.flagged and result.flags[-1].start >= len(filler)


@pytest.mark.slow
def test_one_run_on_sentence_is_windowed_not_truncated(encoder):
    from core.safety.crisis_semantic import split_units

    text = "and then " * 400 + "she wants to kill herself"
    units = split_units(text)
    assert len(units) > 5 and units[-1].end == len(text)
    assert assess_crisis(text, encoder).flagged


def test_result_survives_storage_round_trip():
    result = assess_crisis("Denies SI but cut herself last week. Uncle died by suicide.", None)
    back = CrisisAssessment.from_dict(result.to_dict())
    assert back == result and back.flagged and back.considered and back.risk_factors


def test_evaluate_crisis_on_a_labelled_file(tmp_path):
    data = tmp_path / "mine.tsv"
    data.write_text("text\texpect\nI want to kill myself.\tcrisis\nI love my life.\tnone\n"
                    "I gave my cat away, I won't need her where I'm going.\tcrisis\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "core", "evaluate-crisis", "--data", str(data), "--rules-only"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "recall            0.500  (1/2)" in out.stdout
    assert "false-positive rate 0.000  (0/1)" in out.stdout
    assert "I gave my cat away" in out.stdout  # the missed text is listed


def test_evaluate_crisis_rejects_a_file_without_the_columns(tmp_path):
    data = tmp_path / "bad.csv"
    data.write_text("note,label\nhello,none\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "core", "evaluate-crisis", "--data", str(data), "--rules-only"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "needs the columns 'text' and 'expect'" in out.stderr
