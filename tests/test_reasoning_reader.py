"""The reasoning reader: a second reader that infers the label an answer argues for without stating it."""

from pathlib import Path

import pandas as pd
import pytest

from core.errors import NoReaderForTask, ReaderUnavailable
from core.llm.parsing import parse_response
from core.llm.reasoning_reader import load_reader, mask_label_words, save_reader, train_reader
from core.llm.tasks import get_task

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "data" / "models" / "reasoning-reader"
EXAMPLES = ROOT.parent / "shared" / "data" / "imhi" / "examples"

YES_REASONING = ("The post conveys a deep sense of hopelessness, worthlessness and exhaustion. The poster has lost "
                 "interest in everything, cannot sleep and describes wanting to disappear.")
NO_REASONING = ("The post is a practical question about a phone contract. There is no indication of emotional "
                "distress, hopelessness or low mood; the tone is neutral and matter-of-fact.")


@pytest.fixture(scope="module")
def reader():
    return load_reader(SHIPPED)


def test_shipped_reader_loads_with_its_version_and_tasks(reader):
    assert reader.version.startswith("reasoning-reader-")
    assert {"depression", "stress", "stress_cause", "irf_thwarted_belongingness", "irf_perceived_burdensomeness",
            "wellness_social"} <= set(reader.tasks)
    assert reader.meta["format"] == "mhdash-reasoning-reader/1" and reader.meta["training_files"]
    for head in reader.tasks.values():
        assert head["metrics"]["holdout_accuracy"] > head["metrics"]["holdout_majority_accuracy"]
    assert not any(p.suffix in (".pkl", ".joblib", ".pt", ".bin") for p in SHIPPED.iterdir())


def test_inferred_on_reasoning_only_text(reader):
    yes = parse_response("depression", f"Reasoning: {YES_REASONING}", reader=reader)
    no = parse_response("depression", f"\n\nReasoning: {NO_REASONING}", reader=reader)
    assert (yes["label"], yes["label_source"], yes["parse_ok"]) == ("yes", "inferred", True)
    assert (no["label"], no["label_source"], no["parse_ok"]) == ("no", "inferred", True)
    for r in (yes, no):
        assert 0.5 < r["label_probability"] <= 1 and r["stated_at"] is None


def test_stated_label_wins_over_the_inferred_one(reader):
    r = parse_response("depression", f"No, the poster does not suffer from depression. Reasoning: {YES_REASONING}",
                       reader=reader)
    assert (r["label"], r["label_source"], r["label_probability"]) == ("no", "stated", None)
    assert r["inferred_label"] == "yes" and r["inferred_probability"] > 0.5  # the disagreement stays visible


def test_without_a_reader_nothing_is_defaulted(reader):
    r = parse_response("depression", f"Reasoning: {YES_REASONING}")
    assert (r["label"], r["label_source"], r["parse_ok"]) == (None, None, False)
    assert "no reasoning reader" in r["note"]
    # a reader that has no classifier for the task says so, and gives no label
    r = parse_response("depression_cause", "Reasoning: The poster mentions weed and pills.", reader=reader)
    assert r["label"] is None and "no classifier for task depression_cause" in r["note"]
    with pytest.raises(NoReaderForTask):
        reader.infer("depression_cause", "text")


def test_too_little_reasoning_is_not_guessed_at(reader):
    for text in ("Reasoning: unclear.", "Reasoning:", ""):
        r = parse_response("stress", text, reader=reader)
        assert r["label"] is None and not r["parse_ok"] and r["note"], text


def test_label_restatements_are_masked():
    dr, sad = get_task("depression"), get_task("stress_cause")
    masked = mask_label_words(dr, "He is exhausted. Therefore, the poster suffers from depression. Yes, the poster "
                                  "suffers from depression.")
    assert "suffers" not in masked and "exhausted" in masked
    assert "does not suffer" not in mask_label_words(dr, "So the poster does not suffer from depression.")
    masked = mask_label_words(sad, "Exams are close. This falls under the category of School. The assigned label "
                                   "for this post is School. It shows the stress cause related to school.")
    assert masked.count("School") + masked.count("school") == 0 and "Exams are close." in masked


def _tiny_train(folder: Path) -> Path:
    q = 'Consider this post: "{}" Question: Does the poster suffer from stress?'
    rows = []
    for i in range(30):
        rows.append((q.format(f"deadline {i}"), "Yes, the poster suffers from stress. Reasoning: The poster feels "
                     f"overwhelmed and anxious about deadlines and pressure number {i}, and cannot relax."))
        rows.append((q.format(f"beach {i}"), "No, the poster does not suffer from stress. Reasoning: The poster "
                     f"describes a calm relaxed day at the beach number {i} with no worries."))
    (folder / "dreaddit").mkdir(parents=True)
    pd.DataFrame(rows, columns=["query", "gpt-3.5-turbo"]).to_csv(folder / "dreaddit" / "train.csv", index=False)
    return folder


def test_train_save_load_round_trip_matches_sklearn(tmp_path):
    """The numpy reader reproduces the scikit-learn vectoriser and classifier it was trained with."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    data = _tiny_train(tmp_path / "train")
    reader = train_reader(data, max_features=500)
    save_reader(reader, tmp_path / "rr")
    loaded = load_reader(tmp_path / "rr")
    assert loaded.version == reader.version and set(loaded.tasks) == {"stress"}
    texts = ["The poster feels overwhelmed by deadlines.", "A calm day at the beach with no worries at all."]
    vec = TfidfVectorizer(token_pattern=r"(?u)\b\w\w+\b", ngram_range=(1, 2), sublinear_tf=True)
    vec.vocabulary_ = loaded.vocabulary
    vec.idf_ = loaded.idf
    expected = vec.transform(texts).toarray()
    got = np.stack([loaded.features(t)[0] for t in texts])
    assert np.allclose(got, expected, atol=1e-6)
    assert [loaded.infer("stress", t)["label"] for t in texts] == ["yes", "no"]


def test_missing_or_damaged_reader_is_a_named_error(tmp_path):
    with pytest.raises(ReaderUnavailable, match="train-parser"):
        load_reader(tmp_path / "nowhere")
    reader = train_reader(_tiny_train(tmp_path / "train"), max_features=200)
    save_reader(reader, tmp_path / "rr")
    weights = tmp_path / "rr" / "weights.npz"
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ReaderUnavailable, match="checksum"):
        load_reader(tmp_path / "rr")
    (tmp_path / "rr" / "reader.json").write_text("{not json")
    with pytest.raises(ReaderUnavailable):
        load_reader(tmp_path / "rr")


@pytest.mark.shared
def test_parser_target_on_the_shipped_examples(shared_data, reader):
    """MentaLLaMA's outputs (not used in training): a label on >= 95% of rows; on DR, where most labels must be
    inferred, >= 85% of them right; overall never worse than MentaLLaMA's own rule."""
    from core.llm.parser_eval import evaluate_parser

    report = evaluate_parser(EXAMPLES, reader)
    full, rule, stated = (report["all"][m] for m in ("stated + inferred", "mentallama rule", "stated only"))
    n = report["all"]["n"]
    assert n == 70
    assert full["labelled"] / n >= 0.95 and stated["labelled"] / n < 0.95
    dr = report["datasets"]["DR"]
    assert dr["stated + inferred"]["correct"] / dr["stated + inferred"]["labelled"] >= 0.85
    assert full["correct"] >= rule["correct"]
    # every stated label is kept, so the stated wrong ones cap what any faithful parse can reach
    from core.llm.parser_eval import ceiling

    a = report["all"]
    assert a["stated"] + a["inferred"] == full["labelled"]
    assert full["correct"] <= ceiling(a) * n + 1e-9 and a["stated_correct"] < a["stated"]
