"""Evidence: which sentences of the source text support each claim of a rationale.

Each rationale sentence is embedded with the encoder backbone (all-MiniLM-L6-v2
by default; mean pooling over tokens, L2-normalised) and compared by cosine
similarity with every sentence of the source. The best matches come back with
character offsets into the source so the UI can highlight them. Each claim gets a
status:

* ``contradicted`` — one of the few most similar source sentences (``CONTRADICTION_CANDIDATES``,
  whatever their similarity) says the opposite (``core.llm.polarity``: "denies X" against "shows X",
  engagement against withdrawal); never counted as support, whatever the similarity;
* ``supported`` — the best match reaches the threshold and none contradicts;
* ``unsupported`` — the best match is below the threshold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from core.errors import ModelUnavailable, ValidationError
from core.hardware import one_load_at_a_time, resolve_device, resolve_encoder_source
from core.llm.polarity import contradiction

# Cosine similarity from which a source sentence counts as support (MiniLM scale; related paraphrases score ~0.35-0.8, unrelated < 0.2).
SUPPORT_THRESHOLD = 0.35
TOP_K = 2
# Source sentences, most similar first, checked for a contradiction of each claim (whatever their similarity:
# a note sentence that denies what a claim asserts may share few words with it, e.g. engagement vs withdrawal).
CONTRADICTION_CANDIDATES = 3

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")


def split_sentences(text: str) -> list[tuple[str, int, int]]:
    """(sentence, start, end) with character offsets into `text`; blank pieces dropped."""
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        _add(out, text, start, m.start())
        start = m.end()
    _add(out, text, start, len(text))
    return out


def _add(out: list, text: str, start: int, end: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if len(stripped) < 2:
        return
    lead = len(piece) - len(piece.lstrip())
    s = start + lead
    out.append((stripped, s, s + len(stripped)))


@dataclass
class SentenceEmbedder:
    tokenizer: Any
    model: Any
    device: str
    source: str
    max_length: int = 256

    def encode(self, sentences: list[str], batch_size: int = 32):
        """L2-normalised mean-pooled embeddings, one row per sentence."""
        import torch

        rows = []
        with torch.inference_mode():
            for i in range(0, len(sentences), batch_size):
                enc = self.tokenizer(sentences[i:i + batch_size], padding=True, truncation=True,
                                     max_length=self.max_length, return_tensors="pt").to(self.device)
                hidden = self.model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                rows.append(torch.nn.functional.normalize(pooled.float(), dim=-1))
        return torch.cat(rows) if rows else torch.zeros((0, 1))


@lru_cache(maxsize=2)
@one_load_at_a_time
def _load(source: str, device: str) -> SentenceEmbedder:
    from transformers import AutoModel, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModel.from_pretrained(source).to(device).eval()
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"Could not load the sentence encoder {source}: {exc}") from exc
    return SentenceEmbedder(tokenizer, model, device, source)


def load_sentence_embedder(settings) -> SentenceEmbedder:
    """The encoder backbone as a sentence embedder (loaded once per process and source)."""

    return _load(resolve_encoder_source(settings.encoder_backbone), resolve_device(settings.device))


def link_evidence(rationale: str, source_text: str, *, settings=None, embedder: SentenceEmbedder | None = None,
                  threshold: float = SUPPORT_THRESHOLD, top_k: int = TOP_K) -> list[dict]:
    """For each rationale sentence: {claim, status, supported, score, evidence: [{sentence, start, end, score}],
    contradicted_by: the contradicting evidence with its reason, or None}."""
    if not source_text or not source_text.strip():
        raise ValidationError("The source text is empty; there is nothing to link evidence to")
    claims = [c for c, _, _ in split_sentences(rationale or "")]
    if not claims:
        return []
    source = split_sentences(source_text)
    if embedder is None:
        if settings is None:
            raise ValidationError("link_evidence needs settings or an embedder")
        embedder = load_sentence_embedder(settings)
    vectors = embedder.encode(claims + [s for s, _, _ in source])
    sims = vectors[: len(claims)] @ vectors[len(claims):].T
    out = []
    for i, claim in enumerate(claims):
        row = sims[i]
        k = min(top_k, len(source))
        values, idx = row.topk(k)
        evidence = [
            {"sentence": source[j][0], "start": source[j][1], "end": source[j][2], "score": round(float(v), 4)}
            for v, j in zip(values.tolist(), idx.tolist(), strict=False)
        ]
        best = evidence[0]["score"] if evidence else 0.0
        matched = [e for e in evidence if e["score"] >= threshold] or evidence[:1]
        order = row.argsort(descending=True)[:CONTRADICTION_CANDIDATES].tolist()
        against = next(({"sentence": source[j][0], "start": source[j][1], "end": source[j][2],
                         "score": round(float(row[j]), 4), "reason": why}
                        for j in order if (why := contradiction(claim, source[j][0]))), None)
        status = "contradicted" if against else ("supported" if best >= threshold else "unsupported")
        out.append({"claim": claim, "status": status, "supported": status == "supported", "score": best,
                    "evidence": matched, "contradicted_by": against})
    return out


def claim_status(claim: dict) -> str:
    """supported | unsupported | contradicted (results stored before contradictions were checked have no status)."""
    return claim.get("status") or ("supported" if claim.get("supported") else "unsupported")


def support_summary(claims: list[dict]) -> dict:
    """Counts of claims by status."""
    counts = {"supported": 0, "unsupported": 0, "contradicted": 0}
    for c in claims or []:
        counts[claim_status(c)] += 1
    return counts
