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
HELDOUT = ROOT / "tests" / "data" / "crisis_heldout.csv"


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
    texts = {r["text"].lower() for f in (EVAL, HELDOUT) for r in csv.DictReader(f.open(encoding="utf-8"))}
    assert not exemplars & texts


def test_held_out_set_is_separate_and_covers_every_kind():
    rows = list(csv.DictReader(HELDOUT.open(encoding="utf-8")))
    assert len(rows) >= 80 and len({r["text"] for r in rows}) == len(rows)
    assert not {r["text"].lower() for r in rows} & {r["text"].lower() for r in csv.DictReader(EVAL.open(encoding="utf-8"))}
    crisis = {r["category"] for r in rows if r["expect"] == "crisis"}
    negatives = {r["category"] for r in rows if r["expect"] == "none"}
    assert {"wish to be dead", "passive ideation", "active ideation", "method", "intent", "plan", "preparatory acts",
            "past attempt", "self-harm", "third-person report", "slang", "misspelling", "other language"} <= crisis
    assert {"idiom", "clinical denial", "negation", "media", "prevention", "grief", "everyday"} <= negatives
    assert {"es", "fr", "de", "pt", "it"} <= {r["language"] for r in rows if r["expect"] == "crisis"}


def test_without_the_encoder_the_rules_run_and_the_result_says_so():
    result = assess_crisis("She says she wants to kill herself.", None)
    assert result.flagged and result.flags[0].layer == "rule" and result.flags[0].phrase == "kill herself"
    assert result.semantic == "off" and "not loaded" in result.semantic_note


@pytest.mark.slow
def test_semantic_layer_flags_what_no_rule_names(encoder):
    text = "Appointment ran late. I gave my dog to my neighbour since there will be nobody left to look after him."
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


@pytest.mark.parametrize("text, denial", [
    ("Don't worry, I'm not thinking about ending things", "not thinking about ending"),
    ("No, I'm not cutting anymore, it's been three years", "not cutting"),
    ("I don't want my life to pass away and miss it all", "don't want my life to pass away"),
    ("I'm not going to kill myself", "not going to kill"),
    # the negation does not govern the harm word: these stay disclosures
    ("I'm not afraid to die", ""),
    ("I don't want to live anymore", ""),
    ("Not a day goes by that I don't think about killing myself", ""),
    ("I haven't told anyone I want to die", ""),
    ("I can't, I want to die", ""),
    ("I can't stop thinking about ending it", ""),
    ("I wouldn't mind dying", ""),
    ("No one would care if I died", ""),
    ("I'm no longer able to stop myself from cutting", ""),
])
def test_a_denial_is_read_only_where_the_negation_governs_the_harm_word(text, denial):
    from core.safety.crisis_semantic import denies_act

    assert denies_act(text) == denial


@pytest.mark.slow
def test_a_sentence_that_denies_the_act_is_considered_not_flagged_by_the_semantic_layer(encoder):
    from core.safety import crisis_semantic as sem

    text = "Don't worry, I'm not thinking about ending things."
    # the embedding alone would flag it (the topic is close to the crisis bank; the negation is not read) ...
    (score,) = sem.score_units(encoder, sem.split_units(text))
    assert score.flags(), (score.crisis, score.contrast)
    # ... the layered check lists it as considered, with the words that deny it
    result = assess_crisis(text, encoder)
    assert not result.flagged, [f.describe() for f in result.flags]
    (considered,) = [c for c in result.considered if c.layer == "semantic"]
    assert "denies it" in considered.detail and "not thinking about ending" in considered.detail
    # the same sentence without the negation still flags
    assert assess_crisis("I'm thinking about ending things.", encoder).flagged


def test_what_is_left_of_a_negated_sentence_is_a_sentence_of_its_own():
    from core.safety.crisis_semantic import Unit, denied_spans, rest_of

    text = "Notes. I'm not suicidal, I just want to disappear."
    unit = Unit(text[7:], 7, len(text))
    negated = (text.index("suicidal"), text.index("suicidal") + len("suicidal"))
    assert rest_of(unit, [negated]).text == "I just want to disappear."
    assert (rest_of(unit, [negated]).start, rest_of(unit, [negated]).end) == (unit.start, unit.end)
    # nothing left, or too little to embed
    assert rest_of(Unit("I'm not suicidal.", 0, 17), [(8, 16)]) is None
    assert rest_of(Unit("No, I'm not suicidal.", 0, 21), [(12, 20)]) is None
    # a denial in every stretch with a harm word, or none at all
    assert denied_spans("No, I'm not cutting anymore, it's been three years") == [(3, 27)]
    assert denied_spans("I'm not suicidal, I just want to die") == []


@pytest.mark.slow
@pytest.mark.parametrize("text, part", [
    ("I'm not suicidal, I just want to disappear.", "I just want to disappear."),
    ("I'm not going to hurt myself, I just want it all to stop forever.", "I just want it all to stop forever."),
])
def test_a_negation_in_one_part_of_a_sentence_does_not_hide_the_rest(encoder, text, part):
    result = assess_crisis(text, encoder)
    assert result.flagged, [c.describe() for c in result.considered]
    (flag,) = result.flags
    assert flag.layer == "semantic" and f"in “{part}”, outside the negated part" in flag.detail
    assert flag.sentence == text


@pytest.mark.slow
@pytest.mark.parametrize("text", [
    "Patient denies SI, reports feeling hopeless about the future.",
    "Denies suicidal ideation, sleeping poorly, appetite reduced.",
    "No SI/HI, mood low, wants to stay in bed all day.",
])
def test_the_rest_of_a_clinical_denial_is_not_flagged_for_low_mood(encoder, text):
    assert not assess_crisis(text, encoder).flagged


@pytest.mark.slow
def test_every_sentence_of_a_20000_word_note_is_checked(encoder):
    from core.safety.crisis_semantic import split_units

    sentence = "We talked about her week at work and the garden. "
    filler = sentence * 2200  # ~20,000 words
    text = filler + "I gave my dog to my neighbour since there will be nobody left to look after him."
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
                    "Lately I've been tidying up loose ends so nobody has to sort out my stuff.\tcrisis\n",
                    encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "core", "evaluate-crisis", "--data", str(data), "--rules-only"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "recall            0.500  (1/2)" in out.stdout
    assert "false-positive rate 0.000  (0/1)" in out.stdout
    assert "tidying up loose ends" in out.stdout  # the missed text is listed


def test_evaluate_crisis_rejects_a_file_without_the_columns(tmp_path):
    data = tmp_path / "bad.csv"
    data.write_text("note,label\nhello,none\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "core", "evaluate-crisis", "--data", str(data), "--rules-only"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "needs the columns 'text' and 'expect'" in out.stderr


class _Counting:
    """The real encoder, counting the sentences it is asked to embed."""

    def __init__(self, encoder):
        self._encoder, self.seen = encoder, []
        self.backbone_id = encoder.backbone_id

    def sentence_embeddings(self, texts):
        self.seen += list(texts)
        return self._encoder.sentence_embeddings(texts)


@pytest.mark.slow
def test_sentences_the_rules_read_and_short_ones_are_not_embedded_and_a_repeat_is_cached(encoder):
    from core.safety import crisis_semantic as sem

    counting = _Counting(encoder)
    counting._crisis_bank = sem._bank_for(encoder)
    text = ("Mood: low. She says she wants to kill herself. Denies suicidal ideation today. "
            "She has started giving her books away to friends.")
    result = assess_crisis(text, counting)
    assert result.flagged and result.semantic == "on"
    assert counting.seen == ["She has started giving her books away to friends."]
    assess_crisis(text, counting)
    assert len(counting.seen) == 1  # the same note again: every sentence from the cache


@pytest.mark.slow
def test_shipped_bank_embeddings_match_the_bank_and_the_backbone(encoder):
    from core.safety import crisis_semantic as sem

    n = sum(len(v) for part in sem.load_bank().values() for v in part.values())
    shipped = sem._precomputed(encoder, n)
    assert shipped is not None, "re-run: python -m core evaluate-crisis --write-bank"
    fresh = encoder.sentence_embeddings([s for part in ("crisis", "contrast")
                                         for v in sem.load_bank()[part].values() for s in v])
    assert float((shipped * fresh).sum(-1).min()) > 0.999
