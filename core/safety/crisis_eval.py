"""Measuring the crisis check: recall and false positives on labelled texts, flag rates on real posts.

Used by ``python -m core evaluate-crisis``. The detector is ``assess_crisis``
with the encoder the dashboard loads, exactly as it runs on a visit.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ValidationError
from core.safety import crisis_semantic as sem

EXPECT = ("crisis", "none")
EVAL_SET = Path(__file__).resolve().parents[2] / "tests" / "data" / "crisis_eval.csv"


def read_labelled(path: Path | str) -> list[dict]:
    """Rows of a CSV or TSV with columns ``text`` and ``expect`` (crisis or none); other columns kept as tags."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ValidationError(f"{path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path} cannot be read as UTF-8 text: {exc}") from exc
    first = raw.split("\n", 1)[0]
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") or first.count("\t") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(raw), delimiter=delimiter)
    cols = {c.strip().lower(): c for c in (reader.fieldnames or [])}
    if "text" not in cols or "expect" not in cols:
        raise ValidationError(f"{path.name} needs the columns 'text' and 'expect' (found: "
                              f"{', '.join(reader.fieldnames or []) or 'none'})")
    rows = []
    for n, r in enumerate(reader, 2):
        expect = (r.get(cols["expect"]) or "").strip().lower()
        if expect not in EXPECT:
            raise ValidationError(f"{path.name} line {n}: expect must be 'crisis' or 'none', not {expect!r}")
        row = {k.strip().lower(): (v or "") for k, v in r.items() if k}
        row["text"], row["expect"] = r.get(cols["text"]) or "", expect
        rows.append(row)
    if not rows:
        raise ValidationError(f"{path.name} has no rows")
    return rows


@dataclass
class Report:
    n: int = 0
    crisis: int = 0
    caught: int = 0
    negatives: int = 0
    false_positives: int = 0
    missed: list[dict] = field(default_factory=list)
    false_alarms: list[dict] = field(default_factory=list)
    by_group: dict = field(default_factory=dict)   # (column, value) -> [caught, total] for crisis rows
    fp_group: dict = field(default_factory=dict)   # (column, value) -> [flagged, total] for 'none' rows
    by_layer: dict = field(default_factory=dict)   # layer -> crisis rows it flagged

    @property
    def recall(self) -> float:
        return self.caught / self.crisis if self.crisis else float("nan")

    @property
    def fpr(self) -> float:
        return self.false_positives / self.negatives if self.negatives else float("nan")


def evaluate(rows: list[dict], detect: Callable[[str], object], *, group_by: tuple[str, ...] = (),
             progress=None) -> Report:
    """Run ``detect`` (text -> assessment) on every row and count."""
    rep = Report()
    groups: dict = defaultdict(lambda: [0, 0])
    fp_groups: dict = defaultdict(lambda: [0, 0])
    layers: dict = defaultdict(int)
    for row in rows:
        result = detect(row["text"])
        flagged = bool(result.flagged)
        rep.n += 1
        if row["expect"] == "crisis":
            rep.crisis += 1
            rep.caught += flagged
            for col in group_by:
                if row.get(col):
                    groups[(col, row[col])][0] += flagged
                    groups[(col, row[col])][1] += 1
            if flagged:
                for layer in {f.layer for f in result.flags}:
                    layers[layer] += 1
            else:
                rep.missed.append(row)
        else:
            rep.negatives += 1
            rep.false_positives += flagged
            for col in group_by:
                if row.get(col):
                    fp_groups[(col, row[col])][0] += flagged
                    fp_groups[(col, row[col])][1] += 1
            if flagged:
                rep.false_alarms.append({**row, "why": "; ".join(f"{f.category} ({f.describe()})"
                                                                 for f in result.flags)})
        if progress:
            progress()
    rep.by_group = dict(groups)
    rep.fp_group = dict(fp_groups)
    rep.by_layer = dict(layers)
    return rep


# ----------------------------------------------------------------------------- real posts

def _imhi_post(query: str) -> str:
    start = query.find('"')
    end = query.rfind('" Question:')
    return query[start + 1:end] if start != -1 and end > start else query


def real_post_sets(shared_dir: Path | str, *, dr_split: str = "test") -> dict[str, list[str]]:
    """Posts by gold label: IMHI DR (depressed / not depressed) and counsel-chat (self-harm topic / the rest).

    ``dr_split`` "test" is the IMHI test file; "train" the training file (used to choose the threshold).
    """
    shared = Path(shared_dir)
    sets: dict[str, list[str]] = {}
    dr = shared / "imhi" / ("test/DR.csv" if dr_split == "test" else "train/DR/train.csv")
    if dr.exists():
        yes, no = [], []
        with dr.open(encoding="utf-8") as f:
            for r in csv.DictReader(f):
                answer = (r.get("gpt-3.5-turbo") or "").strip().lower()
                (yes if answer.startswith("yes") else no).append(_imhi_post(r.get("query") or ""))
        sets[f"IMHI DR {dr_split}: depressed"] = yes
        sets[f"IMHI DR {dr_split}: not depressed"] = no
    cc = shared / "counsel-chat" / "counsel_chat.csv"
    if cc.exists():
        topics: dict[str, set] = {}  # one question, several answers (and sometimes several topics)
        with cc.open(encoding="utf-8") as f:
            for r in csv.DictReader(f):
                text = f"{r.get('questionTitle') or ''}. {r.get('questionText') or ''}".strip()
                topics.setdefault(text, set()).add((r.get("topic") or "").strip())
        sets["counsel-chat: self-harm topic"] = [t for t, ts in topics.items() if "self-harm" in ts]
        sets["counsel-chat: other topics"] = [t for t, ts in topics.items() if "self-harm" not in ts]
    return sets


def flag_rate(texts: list[str], detect: Callable[[str], object], progress=None) -> float:
    n = 0
    for t in texts:
        n += bool(detect(t).flagged)
        if progress:
            progress()
    return n / len(texts) if texts else float("nan")


# ----------------------------------------------------------------------------- threshold sweep

def unit_profile(text: str, encoder) -> tuple[bool, list[tuple[float, float, str, bool]]]:
    """(rules flag the text, [(crisis sim, contrast sim, state, risk-lexicon word)] of every unit the semantic
    layer reads, including what is left of negated or denied sentences) for a threshold sweep."""
    from core.safety.crisis import detect_crisis
    from core.safety.crisis_check import rest_units, rule_states

    rules = detect_crisis(text)
    units = sem.split_units(text)
    states = rule_states(units, rules)
    scores = sem.score_units(encoder, [u for u in units if u.start not in states and sem.worth_embedding(u)])
    denied = {s.unit.start for s in scores if sem.denies_act(s.unit.text)}
    rests = sem.score_units(encoder, [r for _, r in rest_units(units, rules, states, denied)])
    return (any(not m.negated for m in rules.matches),
            [(s.crisis, s.contrast, "denied" if s.unit.start in denied else "", s.cue) for s in scores]
            + [(s.crisis, s.contrast, "denied" if sem.denies_act(s.unit.text) else "", s.cue) for s in rests])


def flagged_at(profile, threshold: float, margin: float, cue_threshold: float | None = None) -> bool:
    rule, units = profile
    cue_t = threshold if cue_threshold is None else min(threshold, cue_threshold)
    return rule or any(c >= (cue_t if cue else threshold) and c > k + margin and state == ""
                       for c, k, state, cue in units)
