from core.clinical.trends import arrow, head_trend, latest_heads_per_visit, patient_trends, trends_from_analyses
from core.models.heads import get_head

ISO = get_head("isolation")      # 0..4, higher is worse
SUP = get_head("support")        # 0..4, lower is worse


def test_change_within_uncertainty_is_not_an_alert():
    t = head_trend(ISO, [2.0, 2.3], [0.2, 0.2])
    assert not t.change_significant and not t.alert and t.direction == "steady"


def test_large_worsening_since_last_visit_alerts():
    t = head_trend(ISO, [1.0, 2.5], [0.1, 0.1])
    assert t.change_significant and t.alert and t.direction == "worse"
    assert t.reason == "rose from connected to isolated since the previous visit"
    assert t.positions == (0, 1)


def test_intervals_are_rounded_to_what_the_heads_can_resolve():
    from core.models.reliability import interval

    trauma = interval("trauma", 2.07, 0.01, 1.51)       # error 1.5 on 0..7: whole numbers, never "± 0.01"
    assert trauma.text == "2 (interval 1 to 4)" and trauma.confidence == "medium"
    sentiment = interval("sentiment", 0.09, 0.02, 0.195)
    assert sentiment.text == "0.1 (interval -0.1 to 0.3)" and sentiment.confidence == "high"
    assert interval("family_history", 0.69, 0.005, None).text == "0.7"


def test_a_probability_is_never_more_confident_than_it_is_decided():
    """Seen on a demo patient: family history "0.5 (interval 0.4 to 0.5) · uncertain · high confidence"."""
    from core.models.reliability import interval

    assert interval("family_history", 0.46, 0.02, 0.05).confidence == "low"      # reaches 0.5
    assert interval("family_history", 0.72, 0.02, 0.05).confidence == "medium"   # reaches the uncertain band
    assert interval("family_history", 0.92, 0.02, 0.05).confidence == "high"     # decided and narrow
    assert interval("family_history", 0.08, 0.02, 0.05).confidence == "high"
    assert interval("sentiment", 0.0, 0.02, 0.05).confidence == "high"           # a scale, not a probability


def test_a_change_inside_one_band_or_inside_the_measured_error_is_not_an_alert():
    # Well beyond the MC-dropout spread, but the score stays in the "isolated" band: nothing a clinician could read.
    assert not head_trend(ISO, [2.05, 2.95], [0.05, 0.05]).alert
    # Crosses from connected to some isolation, beyond the spread; a measured error of 1.0 swallows it.
    assert head_trend(ISO, [0.9, 1.8], [0.1, 0.1]).alert
    assert not head_trend(ISO, [0.9, 1.8], [0.1, 0.1], error=1.0).alert


def test_direction_depends_on_the_head():
    # support falling is worse; isolation falling is better
    assert head_trend(SUP, [3.0, 1.5], [0.1, 0.1]).alert
    falling_iso = head_trend(ISO, [3.0, 1.5], [0.1, 0.1])
    assert not falling_iso.alert and falling_iso.direction == "better"


def test_monotone_trend_over_window_alerts_even_with_small_steps():
    # Each step is inside the noise, but four visits in a row go the same way.
    values = [1.0, 1.3, 1.6, 1.9, 2.2]
    t = head_trend(ISO, values, [0.3] * 5, window=5)
    assert not t.change_significant
    assert t.slope_per_visit > 0 and t.trend_p < 0.10 and t.alert
    assert t.reason == "has risen over the last 5 visits, from connected to isolated"


def test_noisy_series_has_no_trend_alert():
    t = head_trend(ISO, [2.0, 1.5, 2.2, 1.7, 2.0], [0.3] * 5, window=5)
    assert not t.alert


def test_one_or_no_scores():
    assert head_trend(ISO, [], []).direction == "n/a"
    assert head_trend(ISO, [2.0], [0.1]).change is None


def test_patient_trends_covers_all_heads_and_arrows():
    series = [{"heads": {h: {"value": v, "std": 0.05} for h in ["sentiment", "family_history", "trauma",
                                                                  "isolation", "support"]}} for v in (0.1, 0.6)]
    trends = patient_trends(series)
    # Family history is a fact mentioned in a visit, not a trajectory: it has no trend and never alerts.
    assert [t.head for t in trends] == ["sentiment", "trauma", "isolation", "support"]
    assert all(arrow(t) == "↑" for t in trends)


def test_family_history_is_a_mention_with_its_quoting_sentence():
    from core.clinical.family import family_history_mentions, quoting_sentence

    visits = [{"id": 1, "visit_date": "2026-01-05", "text": "Low mood. Mother was treated for bipolar disorder."},
              {"id": 2, "visit_date": "2026-02-05", "text": "Sleeping better."}]
    rows = [{"id": 10 + v, "visit_id": v, "visit_date": d, "kind": "heads", "model_version": "v1",
             "outputs": heads_outputs({"family_history": p})} for v, d, p in ((1, "2026-01-05", 0.9),
                                                                              (2, "2026-02-05", 0.2))]
    [m] = family_history_mentions(visits, rows)
    assert (m.visit_id, m.quote, m.likely) == (1, "Mother was treated for bipolar disorder.", True)
    # Uncertain model, but the note names a relative's condition: a possible mention, with the sentence.
    rows[0]["outputs"] = heads_outputs({"family_history": 0.6})
    [m] = family_history_mentions(visits, rows)
    assert (m.visit_id, m.likely) == (1, False)
    rows[0]["outputs"] = heads_outputs({"family_history": 0.2})
    assert family_history_mentions(visits, rows) == []
    assert quoting_sentence("Spends weekends with family.") is None


# ------------------------------------------------------------ one heads result per visit, everywhere
ENCODER_ID = "multitask:embedded:all-MiniLM-L6-v2"
BASE_SCORES = {"sentiment": -0.2, "family_history": 0.3, "trauma": 1.2, "isolation": 1.5, "support": 2.5}


def heads_outputs(values: dict | None = None, std: float = 0.05, tokens: int = 40) -> dict:
    """Heads outputs in the shape ``core.models.encoder.score_texts`` returns and ``core.clinical.analysis.run_heads`` stores."""
    from core.models.heads import HEADS

    scores = {**BASE_SCORES, **(values or {})}
    return {"heads": {h.name: {"value": scores[h.name], "std": std,
                               "low": max(h.low, scores[h.name] - 1.645 * std),
                               "high": min(h.high, scores[h.name] + 1.645 * std)} for h in HEADS},
            "windows": 1, "tokens": tokens}


def store_heads(store, visit_id: int, version: str, values: dict | None = None, std: float = 0.05,
                user_id: int | None = None) -> int:
    """Store a heads result as ``run_heads`` does (same model id, version and cache key)."""
    from types import SimpleNamespace

    from core.clinical.analysis import HEADS_KIND, heads_cache_key
    from core.storage import records

    key = heads_cache_key(SimpleNamespace(model_id=ENCODER_ID, version=version),
                          records.get_visit(store, visit_id)["text_hash"])
    return records.insert_analysis(store, visit_id=visit_id, kind=HEADS_KIND, task=HEADS_KIND,
                                   outputs=heads_outputs(values, std), model_id=ENCODER_ID, model_version=version,
                                   cache_key=key, duration_ms=38.5, created_by=user_id)


def _rows(*specs):
    """Analysis rows as storage returns them: (id, visit_id, visit_date, kind, isolation value)."""
    return [{"id": i, "visit_id": v, "visit_date": d, "kind": k, "model_version": f"v{i}",
             "outputs": heads_outputs({"isolation": iso}) if k == "heads" else {"label": "yes"}}
            for i, v, d, k, iso in specs]


def test_latest_heads_per_visit_keeps_the_newest_result_of_each_visit_in_visit_order():
    rows = _rows((1, 10, "2026-01-01", "heads", 1.0), (2, 11, "2026-02-01", "heads", 1.0),
                 (3, 10, "2026-01-01", "llm", None), (4, 11, "2026-02-01", "heads", 2.0),
                 (5, 10, "2026-01-01", "heads", 2.0), (6, 9, "2025-12-01", "heads", 2.0))
    series = latest_heads_per_visit(rows)
    assert [(a["visit_id"], a["id"]) for a in series] == [(9, 6), (10, 5), (11, 4)]


def test_a_heads_upgrade_is_not_a_change_since_last_visit():
    # v1 scored three steady visits at isolation 1.0; v2 re-scored them all at 2.0 (a different model, same patient).
    rows = _rows((1, 10, "2026-01-01", "heads", 1.0), (2, 11, "2026-02-01", "heads", 1.0),
                 (3, 12, "2026-03-01", "heads", 1.0), (4, 10, "2026-01-01", "heads", 2.0),
                 (5, 11, "2026-02-01", "heads", 2.0), (6, 12, "2026-03-01", "heads", 2.0))
    # Storage order (visit date, then id) interleaves the versions; read naively that is a jump at the last visit.
    naive = patient_trends([a["outputs"] for a in sorted(rows, key=lambda a: (a["visit_date"], a["id"]))])
    assert next(t for t in naive if t.head == "isolation").alert
    iso = next(t for t in trends_from_analyses(rows, window=4) if t.head == "isolation")
    assert iso.change == 0 and not iso.alert and iso.direction == "steady"


def test_trends_from_analyses_uses_the_window_it_is_given():
    values = [1.0, 1.3, 1.6, 1.9, 2.2]  # small monotone steps, each inside the noise
    rows = [{"id": i, "visit_id": i, "visit_date": f"2026-0{i}-01", "kind": "heads",
             "outputs": heads_outputs({"isolation": v}, std=0.3)} for i, v in enumerate(values, 1)]
    assert next(t for t in trends_from_analyses(rows, window=5) if t.head == "isolation").alert
    assert not next(t for t in trends_from_analyses(rows, window=3) if t.head == "isolation").alert
    assert trends_from_analyses(_rows((1, 10, "2026-01-01", "llm", None)), window=4) == []


def _upgraded_patient(settings, store, users, window: int):
    """A patient whose three visits were scored by heads v1 (steady) and then all re-scored by v2."""
    from core.clinical import patients
    from core.context import Context

    ctx = Context(settings.replace(trend_window=window), store, users["psy"])
    pid = patients.create_patient(ctx, "P-UPG", consent_ml=True)
    vids = [patients.add_visit(ctx, pid, f"2026-0{m}-10", f"Visit {m}: keeps to herself most days.")
            for m in (1, 2, 3)]
    for version, iso in (("v20260101_000000", 1.0), ("v20260301_000000", 2.0)):
        for vid in vids:
            store_heads(store, vid, version, {"isolation": iso}, user_id=users["psy"].id)
    return ctx, pid, vids


def test_patient_list_and_cohort_read_one_heads_result_per_visit(settings, store, users):
    from core.clinical import cohort, patients
    from core.context import Context

    ctx, pid, _ = _upgraded_patient(settings, store, users, window=4)
    row = patients.list_patients(ctx).rows[0]
    assert row["trends"]["isolation"] == {"arrow": "→", "direction": "steady", "alert": False}
    assert row["alerts"] == []
    lead = Context(ctx.settings, store, users["lead"])
    data = cohort.overview(lead)
    assert not any(a["worsening"] for a in data["attention"])
    assert data["latest_scores"] == [{"patient_id": pid, **BASE_SCORES, "isolation": 2.0}]


def _recorded_evaluation(folder, version: str, aurocs: dict) -> None:
    """An ``external_evaluation.json`` as ``evaluate-heads --record`` writes it, for one heads version."""
    import json

    from core.models.reliability import EXTERNAL_FILE

    (folder / version).mkdir(parents=True, exist_ok=True)
    checks = [{"label": "real label", "head": h, "source": "test", "n": 100, "positives": 50,
               "higher_when_positive": True, "auroc": a, "ci_low": a - 0.05, "ci_high": a + 0.05, "spearman": 0.2}
              for h, a in aurocs.items()]
    (folder / version / EXTERNAL_FILE).write_text(json.dumps({"checks": checks}), encoding="utf-8")


def test_patient_list_and_cohort_follow_settings_trend_window(settings, store, users, tmp_path):
    from core.clinical import cohort, patients
    from core.context import Context

    _recorded_evaluation(tmp_path / "heads", "v20260101_000000", {"isolation": 0.71, "support": 0.62})
    settings = settings.replace(heads_dir=tmp_path / "heads")

    def isolation_alert(window):
        ctx = Context(settings.replace(trend_window=window), store, users["psy"])
        row = patients.list_patients(ctx).rows[0]
        listed = row["trends"]["isolation"]["alert"]
        assert (row["status"] == "worsening") == listed
        lead = Context(ctx.settings, store, users["lead"])
        flagged = any("Social isolation" in a["worsening"] for a in cohort.overview(lead)["attention"])
        assert listed == flagged
        return listed

    ctx = Context(settings, store, users["psy"])
    pid = patients.create_patient(ctx, "P-WIN", consent_ml=True)
    for i, iso in enumerate([1.0, 1.3, 1.6, 1.9, 2.2], 1):
        vid = patients.add_visit(ctx, pid, f"2026-0{i}-10", f"Visit {i}.")
        store_heads(store, vid, "v20260101_000000", {"isolation": iso}, std=0.3)
    assert isolation_alert(5) and not isolation_alert(3)


def test_status_never_comes_from_a_head_below_the_auroc_floor_or_from_unsigned_work(settings, store, users,
                                                                                      tmp_path):
    from core.clinical import cohort, patients
    from core.context import Context

    _recorded_evaluation(tmp_path / "heads", "v20260101_000000", {"isolation": 0.71, "support": 0.62})
    ctx = Context(settings.replace(heads_dir=tmp_path / "heads"), store, users["psy"])
    pid = patients.create_patient(ctx, "P-SUP", consent_ml=True)
    for i, sup in enumerate([3.5, 3.0, 2.5, 1.5, 0.5], 1):  # support falls from strong to little support
        vid = patients.add_visit(ctx, pid, f"2026-0{i}-10", f"Visit {i}.")
        store_heads(store, vid, "v20260101_000000", {"support": sup}, std=0.1)
    row = patients.list_patients(ctx).rows[0]
    assert row["trends"]["support"]["alert"]            # the trend is there, shown as an arrow
    assert row["status"] == "none" and row["reasons"] == []  # but support ranks real text at 0.62: no status
    assert row["unsigned"] == 5
    lead = Context(ctx.settings, store, users["lead"])
    assert cohort.overview(lead)["attention"] == []     # drafts alone are not a reason for attention


def test_cohort_counts_unsigned_outputs_per_patient_in_one_query(settings, store, users):
    from core.clinical import analysis, cohort
    from core.context import Context
    from core.storage import records

    ctx, pid, _ = _upgraded_patient(settings, store, users, window=4)
    drafts = [a for a in records.list_patient_analyses(store, pid) if a["status"] == "draft"]
    analysis.sign(ctx, drafts[0]["id"])
    assert records.unsigned_by_patient(store) == {pid: len(drafts) - 1}
    lead = Context(ctx.settings, store, users["lead"])
    # Outputs awaiting sign-off are work to do, not a reason for attention (issue 17): not listed on their own.
    assert not [a for a in cohort.overview(lead)["attention"] if a["patient_id"] == pid]
