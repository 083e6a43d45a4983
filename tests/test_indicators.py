"""Psycholinguistic indicators: each indicator, negation, speaker, bad inputs, storage on save, trends."""

import json

import pytest

from core.clinical import indicators as ind
from core.clinical import lexicons


def cell(text: str, name: str) -> dict:
    return ind.compute(text)["indicators"][name]


def spans_of(result: dict, name: str) -> list[str]:
    return [(s[0], s[1], bool(s[4])) for s in result["spans"] if s[2] == name]


# ---------------------------------------------------------------- one indicator at a time
@pytest.mark.parametrize("name,text,count", [
    ("absolutist", "I always fail and nothing ever works, everyone knows it.", 4),
    ("hopelessness", "I feel hopeless. There is no future for me and I gave up.", 3),
    ("helplessness", "I can't cope with work and I feel stuck and helpless.", 3),
    ("sleep", "I woke up at 3am again; my sleep is broken and I have nightmares.", 3),
    ("appetite", "My appetite is gone, I skip meals and lost weight.", 3),
    ("energy", "I am exhausted and tired, with no motivation at all.", 3),
    ("substance", "I have been drinking wine every night and smoking weed.", 4),
    ("social", "My sister and my friends visited, and my partner cooked.", 3),
    ("alone", "I am lonely and alone, with no one to talk to.", 3),
])
def test_each_written_list_counts_its_words(name, text, count):
    c = cell(text, name)
    words = len(text.split())
    assert c["status"] == "ok" and c["count"] == count
    assert c["value"] == pytest.approx(100 * count / words, abs=0.01)


def test_spans_point_at_the_words_that_were_counted():
    text = "Honestly I always feel completely hopeless."
    r = ind.compute(text)
    assert [text[a:b] for a, b, _ in spans_of(r, "absolutist")] == ["always", "completely"]
    assert [text[a:b] for a, b, _ in spans_of(r, "hopelessness")] == ["hopeless"]
    # one word can serve two indicators: "hopeless" is also a VADER negative emotion word
    assert [text[a:b] for a, b, _ in spans_of(r, "negative_emotion")] == ["hopeless"]


def test_first_person_rate_and_share_of_personal_pronouns():
    c = cell("I told my brother that he and I should talk to them about me.", "first_person")
    assert c["count"] == 4 and c["status"] == "ok"
    assert c["share"] == pytest.approx(4 / 6, abs=1e-3)  # I, my, I, me against he, them
    assert cell("The weather is mild and the train was late.", "first_person")["share"] is None


def test_emotion_words_and_valence_come_from_vader():
    sad = ind.compute("I feel sad, miserable and worthless. Everything is terrible.")
    happy = ind.compute("I feel happy, calm and grateful. Everything is wonderful.")
    assert sad["indicators"]["negative_emotion"]["count"] >= 3 and sad["indicators"]["positive_emotion"]["count"] == 0
    assert happy["indicators"]["positive_emotion"]["count"] >= 3 and happy["indicators"]["negative_emotion"]["count"] == 0
    assert sad["indicators"]["valence"]["value"] < -0.5 < 0.5 < happy["indicators"]["valence"]["value"]
    assert all(s[3].startswith("VADER -") for s in sad["spans"] if s[2] == "negative_emotion")


def test_distortion_markers_name_their_kind():
    c = cell("I should be stronger. I'm a failure. What if it is a disaster? Everyone thinks I'm weak.", "distortion")
    # "thinks I'm weak" is mind reading and, inside it, the label "I'm weak"
    assert c["by_subtype"] == {"should statement": 1, "labelling": 2, "catastrophising": 2, "mind reading": 1}


# ---------------------------------------------------------------- negation
def test_negated_hopelessness_is_counted_apart():
    plain, negated = cell("I feel hopeless.", "hopelessness"), cell("I do not feel hopeless.", "hopelessness")
    assert (plain["count"], plain["negated"]) == (1, 0)
    assert (negated["count"], negated["negated"]) == (0, 1)
    assert negated["value"] == 0.0


def test_absolutist_negators_do_not_negate_absolutist_words():
    c = cell("Nothing ever works and I never ever rest.", "absolutist")
    assert (c["count"], c["negated"]) == (4, 0)
    assert cell("It is not always this bad.", "absolutist")["negated"] == 1


def test_negation_stays_inside_its_clause():
    # "not" belongs to the first clause; "hopeless" after the comma is not negated
    c = cell("It is not easy, hopeless is how I feel.", "hopelessness")
    assert (c["count"], c["negated"]) == (1, 0)
    c = cell("I am not tired but hopeless.", "hopelessness")
    assert (c["count"], c["negated"]) == (1, 0)


def test_negated_positive_word_is_not_positive():
    r = ind.compute("I am not happy.")
    assert r["indicators"]["positive_emotion"]["count"] == 0 and r["indicators"]["positive_emotion"]["negated"] == 1
    assert [neg for _, _, neg in spans_of(r, "positive_emotion")] == [True]


def test_a_negated_mention_is_still_about_sleep():
    c = cell("I cannot sleep at all.", "sleep")
    assert (c["count"], c["negated"]) == (1, 1)


def test_phrase_that_contains_a_negator_is_matched_whole():
    r = ind.compute("There is no hope left.")
    assert r["indicators"]["hopelessness"]["count"] == 1 and r["indicators"]["hopelessness"]["negated"] == 0


# ---------------------------------------------------------------- speaker
def test_third_person_clinician_note_makes_pronouns_not_applicable():
    r = ind.compute("Patient reports low mood for three weeks. She denies suicidal ideation. "
                    "She states she is not sleeping and feels hopeless.")
    assert r["speaker"] == "third_person"
    fp = r["indicators"]["first_person"]
    assert fp["status"] == "not_applicable" and fp["value"] is None and "third person" in fp["reason"]
    assert r["indicators"]["hopelessness"]["count"] == 1  # the other indicators still describe the wording


def test_clinician_note_quoting_the_patient_stays_third_person():
    r = ind.compute('Pt reports poor sleep. Client states: "I can\'t do this, I am so tired of my life."')
    assert r["speaker"] == "third_person"


def test_first_person_writing_about_someone_else_stays_first_person():
    r = ind.compute("My wife left. She took the kids and I miss her every day.")
    assert r["speaker"] == "first_person" and r["indicators"]["first_person"]["status"] == "ok"


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("text", ["", "   ", "😢😢😢 💔", "12 34 56", None])
def test_no_words_is_said_not_reported_as_zero(text):
    r = ind.compute(text)
    assert r["words"] == 0 and r["emotion"] is None
    assert all(c["status"] == "no_words" and c["value"] is None for c in r["indicators"].values())


@pytest.mark.parametrize("text", [
    "Je suis très fatigué et je ne dors plus depuis des semaines, tout est noir.",
    "Ich bin sehr müde und schlafe seit Wochen nicht mehr gut.",
    "Dini ticaret haline getirenler",
    "我最近睡不好，每天都很累。",
])
def test_non_english_says_english_only(text):
    r = ind.compute(text)
    assert r["language"] == "other"
    assert all(c["status"] == "english_only" and c["value"] is None for c in r["indicators"].values())
    assert any("English" in n for n in r["notes"])


def test_all_capitals_count_like_lower_case():
    lower = ind.compute("i feel hopeless and alone all the time.")
    upper = ind.compute("I FEEL HOPELESS AND ALONE ALL THE TIME.")
    for name in ("hopelessness", "alone", "absolutist", "first_person", "negative_emotion"):
        assert upper["indicators"][name]["count"] == lower["indicators"][name]["count"] > 0


def test_text_without_sentence_punctuation_is_cut_into_runs():
    text = " ".join(["i feel sad and tired every day"] * 30)  # 210 words, no punctuation
    r = ind.compute(text)
    assert r["sentences"] == -(-210 // ind.MAX_SENTENCE_WORDS)
    assert any("No sentence punctuation" in n for n in r["notes"])
    assert r["indicators"]["valence"]["status"] == "ok"


def test_a_20000_word_note_is_handled():
    text = " ".join(["I always feel tired and hopeless, but my friends help."] * 2000)
    r = ind.compute(text)
    assert r["words"] == 20_000
    assert r["indicators"]["hopelessness"]["count"] == 2000
    json.dumps(r)  # storable


def test_curly_apostrophes_are_straightened():
    assert cell("I can’t cope any more.", "helplessness")["count"] == 1


def test_emotion_per_sentence_and_shares_sum_to_one():
    r = ind.compute("I cried all day and felt so sad. I am scared of tomorrow. The bus was late. I was happy at the"
                    " park.")
    labels = [s[2] for s in r["emotion"]["sentences"]]
    assert labels == ["sadness", "fear", "neutral", "joy"]
    assert sum(r["emotion"]["share"].values()) == pytest.approx(1.0, abs=1e-3)
    assert set(r["emotion"]["share"]) == set(lexicons.EMOTIONS)


def test_version_changes_with_the_word_lists(monkeypatch):
    before = ind.version()
    ind.version.cache_clear()
    monkeypatch.setattr(lexicons, "HOPELESSNESS", lexicons.HOPELESSNESS + ("bleak",))
    monkeypatch.setitem(ind._LISTS, "hopelessness", {"": lexicons.HOPELESSNESS})
    try:
        assert ind.version() != before
    finally:
        ind.version.cache_clear()
        ind._compiled.cache_clear()


# ---------------------------------------------------------------- stored on save, never recomputed on display
@pytest.fixture
def psy(settings, store, users):
    from core.context import Context

    return Context(settings=settings, store=store, user=users["psy"])


def test_add_visit_stores_the_indicators_with_the_visit(psy):
    from core.clinical import patients
    from core.storage import indicators as stored

    pid = patients.create_patient(psy, "P-1", consent_ml=False)  # word counts, no model: no consent needed
    text = "I always feel hopeless and I can't sleep."
    vid = patients.add_visit(psy, pid, "2026-01-05", text)
    got = stored.get_many(psy.store, [vid], ind.version())[vid]
    assert got["indicators"] == ind.compute(text)["indicators"]


def test_import_stores_every_visit_or_none(psy):
    from core.clinical import patients
    from core.errors import ValidationError
    from core.storage import indicators as stored

    pid = patients.create_patient(psy, "P-1")
    ids = patients.import_visits(psy, pid, "v.csv", b"visit_date,text\n2026-01-05,Lonely.\n2026-02-05,Tired.\n")
    assert set(stored.get_many(psy.store, ids, ind.version())) == set(ids)
    before = stored.count(psy.store)
    with pytest.raises(ValidationError):
        patients.import_visits(psy, pid, "v.csv", b"visit_date,text\n2026-03-05,Fine.\nnot-a-date,Bad.\n")
    assert stored.count(psy.store) == before


def test_display_reads_stored_results_and_fills_in_older_visits_once(psy, monkeypatch):
    from core.clinical import patients, visit_indicators
    from core.storage import records

    pid = patients.create_patient(psy, "P-1")
    new = patients.add_visit(psy, pid, "2026-02-05", "I feel hopeless.")
    [old] = records.insert_visits(psy.store, pid, [{"visit_date": "2026-01-05", "text": "I am lonely."}],
                                  psy.user.id)  # as saved before indicators existed
    visits = patients.list_visits(psy, pid)
    got = visit_indicators.by_visit(psy, pid, visits)
    assert set(got) == {new, old} and got[old]["indicators"]["alone"]["count"] == 1

    def boom(text):
        raise AssertionError("recomputed on display")

    monkeypatch.setattr(ind, "compute", boom)
    assert visit_indicators.by_visit(psy, pid, visits) == got


def test_other_psychiatrists_cannot_read_indicators(settings, store, users, psy):
    from core.clinical import patients, visit_indicators
    from core.context import Context
    from core.errors import PermissionDenied

    pid = patients.create_patient(psy, "P-1")
    patients.add_visit(psy, pid, "2026-01-05", "Hopeless.")
    other = Context(settings=settings, store=store, user=users["psy2"])
    with pytest.raises(PermissionDenied):
        visit_indicators.by_visit(other, pid, patients.list_visits(psy, pid))


def test_backfill_fills_every_visit(psy):
    from core.clinical import patients, visit_indicators
    from core.storage import indicators as stored
    from core.storage import records

    pid = patients.create_patient(psy, "P-1")
    records.insert_visits(psy.store, pid, [{"visit_date": f"2026-01-0{d}", "text": "Tired."} for d in range(1, 6)],
                          psy.user.id)
    assert visit_indicators.backfill(psy.store) == 5
    assert stored.count(psy.store, ind.version()) == 5 and visit_indicators.backfill(psy.store) == 0


# ---------------------------------------------------------------- trends
def _rows(values: dict[str, list]) -> tuple[dict, list]:
    n = len(next(iter(values.values())))
    visits = [{"id": i + 1, "visit_date": f"2026-0{i + 1}-05"} for i in range(n)]
    stored = {}
    for i in range(n):
        cells = {name: {"value": None, "status": "english_only"} for name in ind.NAMES}
        for name, vals in values.items():
            cells[name] = {"value": vals[i], "std": 0.2, "status": "ok"}
        stored[i + 1] = {"indicators": cells}
    return stored, visits


def test_rising_hopelessness_raises_the_heads_alert():
    from core.clinical import visit_indicators

    stored, visits = _rows({"hopelessness": [0.0, 0.5, 1.5, 3.0], "sleep": [0.0, 1.0, 2.0, 4.0]})
    trends = {t.head: t for t in visit_indicators.trends(stored, visits, window=4)}
    assert trends["hopelessness"].alert and trends["hopelessness"].direction == "worse"
    assert "sampling spread" in trends["hopelessness"].reason
    # a mention count has no worse direction: it moves, it never alerts
    assert not trends["sleep"].alert and trends["sleep"].direction == "more"
    assert trends["absolutist"].last is None and not trends["absolutist"].alert


def test_falling_valence_is_worse():
    from core.clinical import visit_indicators

    stored, visits = _rows({"valence": [0.6, 0.3, 0.0, -0.5]})
    [t] = [t for t in visit_indicators.trends(stored, visits, window=4) if t.head == "valence"]
    assert t.alert and t.direction == "worse"


def test_reference_band_is_labelled_as_social_media_posts(settings):
    from core.clinical import visit_indicators

    ref = visit_indicators.reference(settings)
    assert ref is not None, "data/models/indicators/reference.json ships with the project"
    assert set(ref["indicators"]) == set(ind.NAMES)
    for band in ref["indicators"].values():
        assert band["p5"] <= band["p25"] <= band["p50"] <= band["p75"] <= band["p95"]
    note = visit_indicators.reference_note(ref)
    assert "social-media posts" in note and "not clinical notes" in note
    assert "not match" not in note, "rebuild the band: python -m core build-indicator-reference"


# ---------------------------------------------------------------- export
def test_patient_export_carries_the_indicators(psy):
    import csv
    import io

    from core.clinical import export, patients

    pid = patients.create_patient(psy, "P-1")
    patients.add_visit(psy, pid, "2026-01-05", "I always feel hopeless and alone.")
    patients.add_visit(psy, pid, "2026-02-05", "Patient reports she is sleeping better. She denies low mood.")
    md = export.summary_markdown(psy, pid)
    assert "## Psycholinguistic indicators" in md and "social-media posts" in md
    assert "| Hopelessness | 0.00 | -16.67 | steady |" in md  # 1 in 6 words, then none
    assert "First-person singular not applicable" in md  # the third-person note
    rows = [r for r in csv.DictReader(io.StringIO(export.scores_csv(psy, pid))) if r["kind"] == "indicators"]
    assert [r["visit_date"] for r in rows] == ["2026-01-05", "2026-02-05"]
    assert float(rows[0]["ind_hopelessness"]) == pytest.approx(100 / 6, abs=0.01)
    assert rows[1]["ind_first_person"] == "" and rows[0]["model_version"] == ind.version()


# ---------------------------------------------------------------- real posts (../shared)
@pytest.mark.shared
def test_shipped_reference_band_is_what_the_command_builds(shared_data, tmp_path, settings):
    from core.cli import main

    out = tmp_path / "reference.json"
    assert main(["build-indicator-reference", "--shared", str(shared_data), "--output", str(out)]) == 0
    shipped = json.loads(settings.indicators_reference.read_text(encoding="utf-8"))
    assert json.loads(out.read_text(encoding="utf-8")) == shipped


@pytest.mark.shared
@pytest.mark.slow
def test_reported_effect_directions_hold_on_imhi_dr(shared_data):
    """The indicators bench/RESULTS.md reports as separating DR posts do so in the reported direction."""
    import numpy as np

    from core.clinical import indicator_eval

    _, _, texts, y = indicator_eval.load_groups(shared_data)[0]
    m = indicator_eval.indicator_matrix(texts)
    col = {name: k for k, name in enumerate(ind.NAMES)}
    higher = ("absolutist", "first_person", "negative_emotion", "hopelessness", "helplessness", "alone")
    lower = ("positive_emotion", "valence", "social")
    for name in higher + lower:
        d, lo, hi = indicator_eval.d_with_ci(m[y == 1, col[name]], m[y == 0, col[name]], n_boot=300)
        assert (lo > 0) if name in higher else (hi < 0), (name, d, lo, hi)
    assert not np.isnan(m).all()


def test_demo_reset_clears_stored_indicators(settings):
    from core.clinical import demo, indicator_records
    from core.storage import indicators as stored
    from core.storage import open_store

    store = open_store(settings.demo_database)
    demo.seed_demo(store)
    assert indicator_records.backfill(store) > 0
    demo.reset_demo(store)  # visit rows go, so must their indicators (foreign keys are on)
    assert stored.count(store) == 0  # the reseeded visits get theirs when opened (or by backfill)
    store.close()
