from core.heads import get_head
from core.trends import arrow, head_trend, patient_trends

ISO = get_head("isolation")      # 0..4, higher is worse
SUP = get_head("support")        # 0..4, lower is worse


def test_change_within_uncertainty_is_not_an_alert():
    t = head_trend(ISO, [2.0, 2.3], [0.2, 0.2])
    assert not t.change_significant and not t.alert and t.direction == "steady"


def test_large_worsening_since_last_visit_alerts():
    t = head_trend(ISO, [1.0, 2.5], [0.1, 0.1])
    assert t.change_significant and t.alert and t.direction == "worse"
    assert "since the last visit" in t.reason


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
    assert "over the last 5 visits" in t.reason


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
    assert [t.head for t in trends] == ["sentiment", "family_history", "trauma", "isolation", "support"]
    assert all(arrow(t) == "↑" for t in trends)
