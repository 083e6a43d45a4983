"""Family history as what it is: mentioned in a visit's note or not, with the sentence that says so.

A relative's mental illness does not change between visits, so the family-history head is read as a fact per
visit: a visit "mentions a family history" when its newest heads result puts the note in the head's top band
("likely"), or possibly mentions it when the model is uncertain but a sentence names a relative's condition.
The quoting sentence is the note's first sentence that names a relative together with a mental
illness, an addiction or a suicide; when the model reads a family history but no sentence says so in those
words, the fact is shown without a quote and says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.clinical.trends import latest_heads_per_visit
from core.models.heads import band_index, get_head

_RELATIVE = re.compile(
    r"\b(mother|mum|mom|father|dad|parents?|brother|sister|siblings?|sons?|daughters?|grand(?:mother|father|parents?"
    r"|ma|pa)|aunt|uncle|cousin|relatives?|family)\b", re.I)
_CONDITION = re.compile(
    r"(history|depress|anxi|bipolar|schizo|psychos|psychiatr|suicid|killed (?:him|her)self|alcohol|addict|"
    r"overdose|mental (?:health|illness)|illness|hospitali[sz]ed|sectioned|ptsd|ocd|eating disorder)", re.I)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


@dataclass(frozen=True)
class Mention:
    visit_id: int
    visit_date: str
    probability: float
    quote: str | None      # the sentence that names a relative's condition, or None
    likely: bool = True    # False: the model is uncertain, but a sentence names a relative's condition


def quoting_sentence(text: str) -> str | None:
    """The first sentence naming a relative together with a mental illness, addiction or suicide."""
    for m in _SENTENCE.finditer(text or ""):
        sentence = m.group(0).strip()
        if _RELATIVE.search(sentence) and _CONDITION.search(sentence):
            return sentence
    return None


def family_history_mentions(visits: list[dict], analyses: list[dict]) -> list[Mention]:
    """Visits (oldest first) whose newest heads result reads a family history as likely, with the quote; and
    those it is uncertain about where a sentence does name a relative's condition (``likely`` False)."""
    spec = get_head("family_history")
    top = len(spec.bands) - 1
    text_of = {v["id"]: v for v in visits}
    out = []
    for a in latest_heads_per_visit(analyses):
        h = (a["outputs"].get("heads") or {}).get(spec.name)
        visit = text_of.get(a["visit_id"])
        if h is None or visit is None:
            continue
        band, quote = band_index(spec, h["value"]), quoting_sentence(visit["text"])
        if band == top or (band == top - 1 and quote):
            out.append(Mention(visit["id"], visit["visit_date"], float(h["value"]), quote, likely=band == top))
    return out
