"""AppTest of the indicators on the patient page: legend and toggles over the note, table, trajectories."""

import json

from core.clinical import patients
from tests.test_pages_clinical import CRISIS_NOTE, texts


def marks(at, kind: str) -> list[str]:
    """The texts marked with ``kind`` in the rendered notes."""
    import re

    html = "\n".join(str(m.value) for m in at.markdown)
    return re.findall(rf"<mark class='mhd-{kind}'[^>]*>([^<]*)</mark>", html)


def table_with(at, column: str):
    """The first dataframe on the page with this column."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_visit_shows_legend_highlights_and_toggles(app_env):
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-1", consent_ml=False)
    vid = patients.add_visit(ctx, pid, "2026-01-05", "I always feel hopeless. I am not hopeless today. I can't sleep.")
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    legend = [m.value for m in at.markdown if "mhd-ind-legend" in str(m.value)]
    assert len(legend) == 1 and "Hopelessness · 1" in legend[0] and "Absolutist words · 1" in legend[0]
    assert marks(at, "ind-hopelessness") == ["hopeless"]
    assert marks(at, "ind-hopelessness-neg") == ["hopeless"]  # "not hopeless": struck through, not counted
    assert marks(at, "ind-absolutist") == ["always"] and marks(at, "ind-sleep") == []
    at.multiselect(key=f"ind_show_{vid}").set_value(["sleep"]).run()
    assert not at.exception
    assert marks(at, "ind-sleep-neg") == ["sleep"] and marks(at, "ind-hopelessness") == []
    at.multiselect(key=f"ind_show_{vid}").set_value([]).run()
    assert not [m for m in at.markdown if "mhd-ind-legend" in str(m.value)]
    assert "<mark" not in "\n".join(str(m.value) for m in at.markdown)
    table = table_with(at, "Negated")
    assert table.set_index("Indicator").loc["Hopelessness", "Negated"] == 1
    assert "Word counts, no model" in texts(at)


def test_crisis_red_wins_over_indicator_marks(app_env):
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-1", consent_ml=True)
    vid = patients.add_visit(ctx, pid, "2026-01-05", CRISIS_NOTE)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    at.multiselect(key=f"ind_show_{vid}").set_value(["substance", "negative_emotion"]).run()
    crisis = marks(at, "crisis")
    assert crisis
    for kind in ("ind-substance", "ind-negative_emotion"):
        assert not any(m in c or c in m for m in marks(at, kind) for c in crisis)


def test_palette_is_colour_blind_safe_and_keeps_red_for_crisis():
    from app import indicators_view
    from core.clinical import indicators

    okabe_ito = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#CC79A7", "#000000"}
    assert set(indicators_view.PALETTE) == set(indicators.NAMES) - {"valence"}
    assert {c for c, _ in indicators_view.PALETTE.values()} <= okabe_ito
    assert len(set(indicators_view.PALETTE.values())) == len(indicators_view.PALETTE)  # colour + line tell apart
    assert set(indicators_view.EMOTION_COLOURS.values()) <= okabe_ito | {"#BBBBBB"}


def test_non_english_visit_says_english_only(app_env):
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-1")
    vid = patients.add_visit(ctx, pid, "2026-01-05", "Je suis très fatigué et je ne dors plus depuis des semaines.")
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert vid
    table = table_with(at, "Negated")
    assert set(table["Value"]) == {"English only"}
    assert "does not appear to be in English" in texts(at)


def test_trajectories_draw_indicator_lines_with_the_reference_band_and_alert(app_env):
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-1")
    notes = ["I went for a walk with my sister and we talked about the garden and the weather today.",
             "I feel a bit hopeless about work, and I walked with my sister and talked about the garden.",
             "I feel hopeless. I gave up on work. There is no future and I feel hopeless about the garden.",
             "Hopeless. I gave up. No hope, no future, no point. Hopeless, hopeless, I gave up on it all."]
    for month, note in enumerate(notes, 1):
        patients.add_visit(ctx, pid, f"2026-0{month}-05", note)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    assert any(e.value.startswith("**Hopelessness**: steady worsening over the last 4 visits") for e in at.error)
    trend = table_with(at, "Beyond sampling spread").set_index("Indicator")
    assert trend.loc["Hopelessness", "Direction"] == "worse"
    assert "social-media posts, not clinical notes" in texts(at)
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    lines = [c for c in charts if (c["layout"].get("title") or {}).get("text") == "Hopelessness"]
    assert len(lines) == 1
    [trace] = lines[0]["data"]
    assert len(trace["y"]) == 4 and trace["y"][0] < trace["y"][-1]
    band = [s for s in lines[0]["layout"].get("shapes", []) if s.get("type") == "rect"]
    assert len(band) == 1
    assert any((c["layout"].get("title") or {}).get("text") == "Emotion by visit (word lists)" for c in charts)


def test_trajectories_stack_the_models_sentence_emotions_per_visit(app_env):
    from core.clinical.analysis import EMOTION_KIND
    from core.storage import records

    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-1", consent_ml=True)
    vids = [patients.add_visit(ctx, pid, f"2026-0{m}-05", "I cried. I laughed.") for m in (1, 2)]
    probs = {"sadness": 0.5, "fear": 0.1, "anger": 0.1, "joy": 0.2, "neutral": 0.1}
    records.insert_analysis(app_env.store, visit_id=vids[1], kind=EMOTION_KIND, task="emotion",
                            outputs={"label": "sadness", "probabilities": probs, "sentences": [], "notes": []},
                            model_id="m", model_version="v", prompt_version="emotion-1")
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    [llm] = [c for c in charts if "language model" in (c["layout"].get("title") or {}).get("text", "")]
    assert [t["name"] for t in llm["data"]] == ["sadness", "fear", "anger", "joy", "neutral"]
    assert llm["data"][0]["x"] == ["2026-02-05"] and llm["data"][0]["y"] == [0.5]
    [words] = [c for c in charts if (c["layout"].get("title") or {}).get("text") == "Emotion by visit (word lists)"]
    assert words["data"][0]["x"] == ["2026-01-05", "2026-02-05"]


def test_emotion_chart_gives_each_visit_its_own_bar_when_two_share_a_date():
    """Two visits on one day were drawn on a date axis at the same x: one bar hid the other."""
    from app.indicators_view import emotion_by_visit
    from app.widgets import visit_labels

    assert visit_labels(["2026-11-29", "2026-11-30", "2026-11-30"]) == [
        "2026-11-29", "2026-11-30 (1)", "2026-11-30 (2)"]
    fig = emotion_by_visit([("2026-11-30", {"sadness": 1.0}), ("2026-11-30", {"joy": 1.0})])
    assert fig.layout.xaxis.type == "category"
    for trace in fig.data:
        assert list(trace.x) == ["2026-11-30 (1)", "2026-11-30 (2)"]
    bars = {t.name: list(t.y) for t in fig.data}
    assert bars["sadness"] == [1.0, 0.0] and bars["joy"] == [0.0, 1.0]


def test_trajectory_hovers_name_the_visit_when_one_date_holds_two():
    from app.indicators_view import trajectory_figure
    from app.widgets import trajectory_chart
    from core.clinical import indicators as ind
    from core.models.heads import get_head

    dates = ["2026-11-29", "2026-11-30", "2026-11-30"]
    head = trajectory_chart(get_head("isolation"), dates, [1.0, 2.0, 3.0], [0.1, 0.1, 0.1])
    assert [row[3] for row in head.data[0].customdata] == ["2026-11-29", "2026-11-30 (1)", "2026-11-30 (2)"]
    assert "%{customdata[3]}" in head.data[0].hovertemplate
    spec = ind.SPECS["absolutist"]
    line = trajectory_figure(spec, dates, [1.0, 2.0, None], None)
    assert list(line.data[-1].customdata) == ["2026-11-29", "2026-11-30 (1)", "2026-11-30 (2)"]
