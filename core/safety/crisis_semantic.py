"""The semantic crisis layer: note sentences compared with a bank of crisis and contrast exemplars.

People rarely write the phrase a rule expects ("I gave my cat to my neighbour
because I won't be needing her"). This layer embeds every sentence of a note
with the backbone the app already loads (the heads' encoder, mean pooling,
L2-normalised) in one batched pass and compares it by cosine similarity with
the exemplar bank in ``crisis_exemplars.json``:

* ``crisis``: sentences organised by C-SSRS categories (wish to be dead,
  passive and active ideation, method, intent, plan, preparatory acts, past
  attempts, non-suicidal self-injury, third-person reports);
* ``contrast``: sentences that share words with crisis language but are not a
  disclosure (idioms, media, prevention work, clinician negations, someone
  else's death, low mood without crisis, everyday plans).

A sentence flags when its best crisis similarity reaches ``THRESHOLD`` (or
the lower ``CUE_THRESHOLD`` when the sentence contains a word of the risk
lexicon: die, pills, rope, goodbye, alive, ...) and is higher than its best
contrast similarity by more than ``MARGIN``. The
thresholds were chosen on tests/data/crisis_eval.csv and on IMHI DR *train*
posts (``python -m core evaluate-crisis --sweep``; see bench/RESULTS.md); the
held-out file tests/data/crisis_heldout.csv and the IMHI DR test posts were not
used to choose them.

Only units that need it are embedded: a unit the rules already flagged or read
as negated, and a unit of fewer than ``MIN_WORDS`` words, is left to the rules.
Sentence embeddings are kept on the encoder (``SENTENCE_CACHE_SIZE``), so a
note read again, or a template sentence repeated across visits, costs nothing.

The bank's embeddings ship precomputed (``BANK_EMBEDDINGS``, with the backbone
id and the bank's hash recorded; ``python -m core evaluate-crisis --write-bank``
rewrites it); when they do not match the loaded backbone or the bank, the bank
is embedded once per loaded encoder and kept on it. Sentences longer
than ``UNIT_WORDS`` words are checked as overlapping word windows, so a
20,000-word note is checked in full, never truncated.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.errors import ModelUnavailable

BANK_FILE = Path(__file__).with_name("crisis_exemplars.json")
# The bank embedded once by the shipped backbone (half precision), with that backbone and the bank hash recorded:
# read at app start instead of embedding the bank; ignored (and the bank embedded) when either differs.
BANK_EMBEDDINGS = Path(__file__).resolve().parents[2] / "data" / "models" / "crisis_bank_embeddings.pt"
THRESHOLD = 0.66   # cosine similarity to the nearest crisis exemplar (MiniLM scale)
CUE_THRESHOLD = 0.56  # lower bar for sentences that contain a word of the risk lexicon below
MARGIN = 0.06      # the crisis similarity must beat the nearest contrast exemplar by more than this
UNIT_WORDS = 48    # longer sentences are checked as windows of this many words
UNIT_OVERLAP = 16  # words shared by consecutive windows

# C-SSRS exemplar category -> the crisis category the banner names.
BANNER_CATEGORY = {
    "wish to be dead": "suicidal ideation", "passive ideation": "suicidal ideation",
    "active ideation": "suicidal ideation", "method": "intent or plan", "intent": "intent or plan",
    "plan": "intent or plan", "preparatory acts": "preparatory acts", "past attempt": "past attempt",
    "non-suicidal self-injury": "self-harm", "third-person report": "third-person report",
}

# Words that put a sentence in the neighbourhood of self-harm: a sentence with one of them needs less similarity
# to flag ("I counted the tablets left in the bottle"), one without needs more ("I sorted my things out").
RISK_LEXICON = re.compile(
    r"\b(?:di(?:e|es|ed|ing)|dead|death|alive|exist\w*|gone|goodbyes?|farewell|burden|"
    r"disappear\w*|wake|forever|end(?:ing|ed)?\s+(?:it|things|my|his|her|everything)|(?:it'?s|be|is)\s+(?:all\s+)?over|"
    r"kill\w*|hurt\w*|harm\w*|cut\w*|blade|razor|scars?|bleed\w*|"
    r"burn\w*|pills?|tablets?|meds|medication|overdos\w*|bottle|rope|noose|gun|rifle|knife|bridge|ledge|roof|"
    r"jump\w*|train|tracks|drown\w*|hang\w*|suicid\w*|letters?|notes?|(?:my|his|her|a)\s+will|belongings|"
    r"(?:my|his|her)\s+(?:things|stuff|affairs)|anymore|attempt\w*|tried|survive\w*|icu|ambulance|escape|"
    r"no\s+(?:point|reason|future)|tonight|permanent\w*|without\s+me|(?:be|being|stay|still)\s+(?:here|alive|around)|"
    r"(?:keep|go\s+on|carry\s+on)\s+living|need(?:ing)?\s+(?:them|it|anything))\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|\n+|(?<=[.!?])(?=[A-Z])")
_CLAUSE = re.compile(r";\s*|,?\s+(?=(?:but|however|though|although|except|yet)\b)", re.IGNORECASE)


@dataclass(frozen=True)
class Unit:
    """A piece of the note checked on its own: a sentence, a clause of one, or a window of a long one."""

    text: str
    start: int
    end: int


def split_units(text: str) -> list[Unit]:
    """Sentences and clauses of ``text`` with character offsets; long ones as overlapping word windows."""
    units: list[Unit] = []
    for s, e in _spans(text, _SENTENCE_END, 0, len(text)):
        for cs, ce in _spans(text, _CLAUSE, s, e):
            units.extend(_windows(text, cs, ce))
    return units


def _spans(text: str, pattern: re.Pattern, start: int, end: int) -> list[tuple[int, int]]:
    out, pos = [], start
    for m in pattern.finditer(text, start, end):
        out.append((pos, m.start()))
        pos = m.end()
    out.append((pos, end))
    result = []
    for s, e in out:
        piece = text[s:e]
        lead = len(piece) - len(piece.lstrip())
        s2, e2 = s + lead, s + len(piece.rstrip())
        if e2 - s2 >= 2 and re.search(r"\w", text[s2:e2]):
            result.append((s2, e2))
    return result


def _windows(text: str, start: int, end: int) -> list[Unit]:
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text[start:end])]
    if len(words) <= UNIT_WORDS:
        return [Unit(text[start:end], start, end)]
    out, step = [], UNIT_WORDS - UNIT_OVERLAP
    for i in range(0, len(words), step):
        chunk = words[i:i + UNIT_WORDS]
        s, e = start + chunk[0][0], start + chunk[-1][1]
        out.append(Unit(text[s:e], s, e))
        if i + UNIT_WORDS >= len(words):
            break
    return out


@lru_cache(maxsize=1)
def load_bank() -> dict:
    """The exemplar bank: {"crisis": {category: [sentences]}, "contrast": {kind: [sentences]}}."""
    try:
        data = json.loads(BANK_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"The crisis exemplar bank {BANK_FILE.name} cannot be read: {exc}") from exc
    return {"crisis": data["crisis"], "contrast": data["contrast"]}


@dataclass
class _Bank:
    crisis: object            # [n, hidden] normalised embeddings
    crisis_labels: list[tuple[str, str]]  # (category, exemplar)
    contrast: object
    contrast_labels: list[tuple[str, str]]


def semantic_available(encoder) -> str:
    """Empty when the encoder can run the semantic layer, else why not."""
    if encoder is None:
        return "the encoder is not loaded"
    if not callable(getattr(encoder, "sentence_embeddings", None)):  # a remote encoder (backends) scores heads only
        return "the encoder has no backbone in this process (a remote encoder server scores heads only)"
    return ""


SENTENCE_CACHE_SIZE = 4096  # sentences whose embeddings stay on the encoder (note templates repeat across visits)
MIN_WORDS = 3              # shorter units ("Plan:", "Mood ok.") are left to the rules


_CACHE_LOCK = threading.Lock()


def embed(encoder, texts: list[str]):
    """Normalised sentence embeddings from the loaded encoder's backbone (``Encoder.sentence_embeddings``), one
    batched pass over the sentences not already in the encoder's sentence cache."""
    import torch

    if not texts:
        return encoder.sentence_embeddings([])
    with _CACHE_LOCK:
        cache = getattr(encoder, "_crisis_sentences", None)
        if cache is None:
            cache = {}
            try:
                encoder._crisis_sentences = cache
            except AttributeError:
                return encoder.sentence_embeddings(texts)
        known = {t: cache[t] for t in texts if t in cache}
    todo = list(dict.fromkeys(t for t in texts if t not in known))
    if todo:
        fresh = encoder.sentence_embeddings(todo)
        with _CACHE_LOCK:
            for t, e in zip(todo, fresh):
                known[t] = cache[t] = e.clone()
            while len(cache) > SENTENCE_CACHE_SIZE:
                cache.pop(next(iter(cache)))
    return torch.stack([known[t] for t in texts])


def worth_embedding(unit: Unit) -> bool:
    """A unit with at least ``MIN_WORDS`` words (shorter ones carry no sentence the rules would not see)."""
    return len(re.findall(r"[^\W\d_]+", unit.text)) >= MIN_WORDS


def bank_identity(encoder) -> dict:
    """What a precomputed bank embedding must match: the backbone and the exact bank text."""
    import hashlib

    return {"backbone_id": getattr(encoder, "backbone_id", ""),
            "bank_sha256": hashlib.sha256(BANK_FILE.read_bytes()).hexdigest(), "pooling": "mean-normalised"}


def save_bank_embeddings(encoder, path: Path = BANK_EMBEDDINGS) -> Path:
    """Embed the bank with ``encoder`` and write it with the backbone identity (shipped, read at app start)."""
    import torch

    bank = load_bank()
    texts = [s for part in ("crisis", "contrast") for items in bank[part].values() for s in items]
    emb = encoder.sentence_embeddings(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**bank_identity(encoder), "embeddings": emb.half()}, path)
    return path


def _precomputed(encoder, n: int):
    """The shipped bank embeddings when they were made by this backbone from this bank, else None."""
    if not BANK_EMBEDDINGS.exists():
        return None
    import torch

    try:
        data = torch.load(BANK_EMBEDDINGS, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - a damaged file is re-embedded, never trusted
        return None
    ident = bank_identity(encoder)
    if any(data.get(k) != v for k, v in ident.items()) or tuple(data["embeddings"].shape)[0] != n:
        return None
    return torch.nn.functional.normalize(data["embeddings"].float(), dim=-1)


def _bank_for(encoder) -> _Bank:
    cached = getattr(encoder, "_crisis_bank", None)
    if cached is not None:
        return cached
    bank = load_bank()
    crisis_labels = [(cat, s) for cat, items in bank["crisis"].items() for s in items]
    contrast_labels = [(kind, s) for kind, items in bank["contrast"].items() for s in items]
    emb = _precomputed(encoder, len(crisis_labels) + len(contrast_labels))
    if emb is None:
        emb = encoder.sentence_embeddings([s for _, s in crisis_labels] + [s for _, s in contrast_labels])
    built = _Bank(emb[:len(crisis_labels)], crisis_labels, emb[len(crisis_labels):], contrast_labels)
    try:
        encoder._crisis_bank = built
    except AttributeError:
        pass
    return built


# A sentence that denies the act itself ("I'm not thinking about ending things", "I don't want my life to pass
# away", "No, I'm not cutting anymore") sits close to crisis exemplars, because an embedding reads the topic and not
# the negation. The semantic layer alone does not flag it when the negation governs the harm word directly: one
# negation in the sentence, no comma between, and only these linking words in between. Anything else between them
# ("I'm not afraid to die", "I haven't told anyone I want to die") or a second negation ("Not a day goes by that I
# don't think about killing myself") keeps the flag: over-flagging is the safe failure.
_DENIAL_NEGATION = re.compile(r"\b(?:not|never|no\s+longer|no)\b|n't\b", re.IGNORECASE)
_DENIAL_LINK = {
    "i", "i'm", "im", "am", "is", "was", "be", "been", "being", "going", "gonna", "to", "thinking", "think", "about",
    "of", "planning", "plan", "on", "want", "wanting", "wanna", "wish", "intend", "intending", "considering", "any",
    "my", "life", "it", "things", "really", "ever", "have", "had", "having", "thoughts", "urges", "urge", "the",
    "feel", "feeling", "do", "does", "did", "will", "would", "myself", "anymore", "again",
}
_DENIAL_HARM = re.compile(
    r"\b(?:die|dying|death|dead|end(?:ing)?|kill\w*|suicid\w*|cut(?:ting|s)?|hurt(?:ing|s)?|harm(?:ing|s)?|"
    r"self-harm\w*|overdos\w*|pass(?:ing)?\s+away|hang(?:ing)?|jump(?:ing)?|disappear\w*|unalive)\b", re.IGNORECASE)


_SEGMENT = re.compile(r"[^,;:()\u2013\u2014]+")


def _denials(text: str) -> list[tuple[str, int, int]]:
    """(denying words, segment start, segment end) of every comma-delimited stretch that holds a harm word, when
    every such stretch denies it; empty when one of them does not (or none holds a harm word)."""
    body = text.replace("’", "'")
    found = []
    for part in _SEGMENT.finditer(body):
        segment = part.group()
        harm = _DENIAL_HARM.search(segment)
        if harm is None:
            continue
        cues = list(_DENIAL_NEGATION.finditer(segment))
        if len(cues) != 1 or cues[0].end() > harm.start():
            return []
        cue = cues[0]
        words = re.findall(r"[\w']+", segment[cue.end():harm.start()].lower())
        if len(words) > 5 or any(w not in _DENIAL_LINK for w in words):
            return []
        start = cue.start()
        while start > 0 and segment[start - 1].isalpha():  # "don't": show the whole word
            start -= 1
        found.append((segment[start:harm.end()], part.start(), part.end()))
    return found


def denies_act(text: str) -> str:
    """The words that deny the act in a sentence (``"not thinking about ending"``), or empty when it does not.

    Read within the comma-delimited stretch that holds the harm word ("Don't worry, I'm not thinking about ending
    things" is read as "I'm not thinking about ending things"); every stretch with a harm word must deny it."""
    found = _denials(text)
    return found[0][0] if found else ""


def denied_spans(text: str) -> list[tuple[int, int]]:
    """Offsets (in ``text``) of the comma-delimited stretches that deny the act (see ``denies_act``)."""
    return [(s, e) for _, s, e in _denials(text)]


def rest_of(unit: Unit, spans: list[tuple[int, int]]) -> Unit | None:
    """The unit without the comma-delimited stretches that overlap ``spans`` (offsets in the note), or None when
    too little is left to embed. "I'm not suicidal, I just want to disappear": the rules or the denial guard
    read the first stretch; the rest is a sentence of its own and is checked as one."""
    local = [(s - unit.start, e - unit.start) for s, e in spans]
    kept, dropped = [], False
    for m in _SEGMENT.finditer(unit.text):
        if any(m.start() < e and s < m.end() for s, e in local):
            dropped = True
        elif m.group().strip():
            kept.append(m.group().strip())
    rest = Unit(", ".join(kept), unit.start, unit.end)
    return rest if dropped and worth_embedding(rest) else None


@dataclass(frozen=True)
class UnitScore:
    unit: Unit
    crisis: float          # best cosine similarity to a crisis exemplar
    category: str          # its C-SSRS category
    exemplar: str
    contrast: float        # best cosine similarity to a contrast exemplar
    contrast_kind: str
    contrast_exemplar: str

    @property
    def cue(self) -> bool:
        return bool(RISK_LEXICON.search(self.unit.text))

    def limit(self, threshold: float = THRESHOLD, cue_threshold: float = CUE_THRESHOLD) -> float:
        return min(threshold, cue_threshold) if self.cue else threshold

    def flags(self, threshold: float = THRESHOLD, margin: float = MARGIN, cue_threshold: float = CUE_THRESHOLD) -> bool:
        return self.crisis >= self.limit(threshold, cue_threshold) and self.crisis > self.contrast + margin


def score_units(encoder, units: list[Unit]) -> list[UnitScore]:
    """Nearest crisis and contrast exemplar of every unit (one batched backbone pass over the units)."""
    if not units:
        return []
    bank = _bank_for(encoder)
    emb = embed(encoder, [u.text for u in units])
    crisis = emb @ bank.crisis.T
    contrast = emb @ bank.contrast.T
    c_val, c_idx = crisis.max(dim=1)
    k_val, k_idx = contrast.max(dim=1)
    out = []
    for i, u in enumerate(units):
        cat, ex = bank.crisis_labels[int(c_idx[i])]
        kind, kex = bank.contrast_labels[int(k_idx[i])]
        out.append(UnitScore(u, float(c_val[i]), cat, ex, float(k_val[i]), kind, kex))
    return out
