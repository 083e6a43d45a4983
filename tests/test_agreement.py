"""Agreement statistics against values computed by hand (and published examples)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.review.agreement import agreement, cohen_kappa, krippendorff_alpha_nominal, observed_agreement

N = None


def test_cohen_kappa_hand_computed():
    # 10 items, raters agree on 7. Marginals A: yes 6 / no 4, B: yes 5 / no 5.
    a = ["y", "y", "y", "y", "y", "y", "n", "n", "n", "n"]
    b = ["y", "y", "y", "y", "n", "n", "y", "n", "n", "n"]
    # p_o = 0.7; p_e = 0.6*0.5 + 0.4*0.5 = 0.5; kappa = 0.2 / 0.5 = 0.4
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_cohen_kappa_three_categories():
    # 2x approve/approve, 1x flag/flag, 1x skip/skip, 1x approve/flag -> p_o = 4/5
    a = ["approve", "approve", "flag", "other", "approve"]
    b = ["approve", "approve", "flag", "other", "flag"]
    # A: approve 3/5, flag 1/5, other 1/5; B: approve 2/5, flag 2/5, other 1/5
    # p_e = 6/25 + 2/25 + 1/25 = 9/25; kappa = (20/25 - 9/25) / (16/25) = 11/16
    assert cohen_kappa(a, b) == pytest.approx(11 / 16)


def test_cohen_kappa_perfect_and_undefined():
    assert cohen_kappa([1, 2, 1], [1, 2, 1]) == pytest.approx(1.0)
    assert cohen_kappa([1, 1], [1, 1]) is None  # one category only: p_e = 1, kappa undefined
    assert cohen_kappa([], []) is None
    with pytest.raises(ValueError):
        cohen_kappa([1], [1, 2])


def test_cohen_kappa_matches_scikit_learn():
    from sklearn.metrics import cohen_kappa_score

    a = [0, 1, 2, 2, 1, 0, 0, 2, 1, 1, 2, 0]
    b = [0, 1, 1, 2, 1, 0, 2, 2, 1, 0, 2, 0]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))


def test_krippendorff_alpha_published_example():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", 4 observers x 12 units, nominal: 0.743
    obs = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
        [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
    ]
    units = list(zip(*obs))
    assert krippendorff_alpha_nominal(units) == pytest.approx(0.743, abs=5e-4)


def test_krippendorff_alpha_hand_computed():
    # Units: (a,a,a), (a,b,b), (b,b). Coincidences: unit1 o_aa += 6/2 = 3; unit2 o_ab = o_ba += 2/2 = 1 each,
    # o_bb += 2/2 = 1; unit3 o_bb += 2/1 = 2. n_a = 4, n_b = 4, n = 8.
    # alpha = 1 - (n-1) * (o_ab + o_ba) / (n_a n_b + n_b n_a) = 1 - 7 * 2 / 32 = 0.5625
    assert krippendorff_alpha_nominal([("a", "a", "a"), ("a", "b", "b"), ("b", "b", N)]) == pytest.approx(0.5625)


def test_krippendorff_alpha_undefined_and_unpairable():
    assert krippendorff_alpha_nominal([("a", "a"), ("a", "a")]) is None
    assert krippendorff_alpha_nominal([("a", N), (N, "b")]) is None


def test_two_raters_alpha_close_to_kappa_on_large_samples():
    # For two raters with no missing data alpha = kappa-like; they differ only by the small-sample correction.
    a = ["y"] * 60 + ["n"] * 40
    b = ["y"] * 50 + ["n"] * 10 + ["y"] * 5 + ["n"] * 35
    k = cohen_kappa(a, b)
    alpha = krippendorff_alpha_nominal(list(zip(a, b)))
    assert abs(k - alpha) < 0.02


def test_agreement_picks_the_statistic():
    two = {1: {"qa": "approve", "qa2": "approve"}, 2: {"qa": "flag", "qa2": "approve"},
           3: {"qa": "flag", "qa2": "flag"}, 4: {"qa": "approve"}}
    res = agreement(two)
    assert res.method == "cohen_kappa" and res.units == 3 and res.raters == 2
    # p_o = 2/3; qa (1 approve, 2 flag), qa2 (2, 1): p_e = 4/9 -> 0.4
    assert res.value == pytest.approx(0.4) and res.percent == pytest.approx(2 / 3)
    three = {1: {"a": 1, "b": 1, "c": 1}, 2: {"a": 1, "b": 2}, 3: {"b": 2, "c": 2}}
    res = agreement(three)
    assert res.method == "krippendorff_alpha" and res.raters == 3
    assert res.value == pytest.approx(krippendorff_alpha_nominal([(1, 1, 1), (1, 2, N), (N, 2, 2)]))
    assert agreement({1: {"a": 1}}).method == "n/a"


@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from("abc")), min_size=2, max_size=40))
def test_statistics_are_bounded(pairs):
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    k = cohen_kappa(a, b)
    alpha = krippendorff_alpha_nominal(pairs)
    assert k is None or -1.0 <= k <= 1.0 + 1e-9
    assert alpha is None or alpha <= 1.0 + 1e-9
    p = observed_agreement(pairs)
    assert 0.0 <= p <= 1.0
    if a == b and k is not None:
        assert k == pytest.approx(1.0)
