"""Reading a model's answer: the label it states, where it states one, and never a silent default.

``parse_response`` finds the label sentence (before ``Reasoning:``, or an explicit "the label is ..." sentence, or
a yes/no claim or conclusion read by ``core.llm.statements``); with a reasoning reader it also infers the label an
answer does not state, marked ``label_source = inferred``.
"""

from __future__ import annotations

import re

from core.llm.statements import concluded_yes_no, stated_yes_no
from core.llm.tasks import Task, get_task

_REASONING_RE = re.compile(r"\breasoning\s*:", re.IGNORECASE)
# "... the assigned/appropriate label for this post is Medication."
_STATED_RE = re.compile(
    r"(?:assigned|appropriate|final|predicted)\s+label\s+(?:for\s+this\s+post\s+)?(?:is|would be)\s*:?\s*\"?([^.\"\n]+)",
    re.IGNORECASE,
)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower()).strip(" .\"'")


def _phrases(task: Task) -> list[tuple[str, str]]:
    """(phrase, label), longest first, for keyword matching inside a label sentence."""
    pairs: list[tuple[str, str]] = []
    for label in task.labels:
        if label not in ("other", "none", "yes", "no"):  # too common as bare words
            pairs.append((label, label))
    pairs += list(task.aliases.items())
    if "other" in task.labels:
        pairs.append(("other stress cause", "other"))
        pairs.append(("other causes", "other"))
    if "none" in task.labels:
        pairs.append(("no causes", "none"))
        pairs.append(("no cause", "none"))
    return sorted(pairs, key=lambda p: -len(p[0]))


def label_from_sentence(task: Task, sentence: str) -> str | None:
    """The label a label sentence states, or None when it states none or several."""
    text = _norm(sentence)
    if not text:
        return None
    for label, s in task.label_sentences.items():
        if text == _norm(s):
            return label
    if set(task.labels) == {"yes", "no"}:
        first = re.match(r"[a-z]+", text)
        if first and first.group(0) in ("yes", "no"):
            return first.group(0)
        return None
    found: set[str] = set()
    remaining = text
    for phrase, label in _phrases(task):
        pattern = r"\b" + re.escape(phrase) + r"\b"
        if re.search(pattern, remaining):
            found.add(label)
            remaining = re.sub(pattern, " ", remaining)
    return found.pop() if len(found) == 1 else None


def _first_sentence(text: str) -> tuple[str, str]:
    m = re.search(r"(?<=[.!?])\s", text)
    if not m:
        return text, ""
    return text[: m.start()], text[m.end():]


def split_answer(text: str) -> tuple[str, str, int]:
    """(text before the first Reasoning:, rationale with repeated markers removed, marker count)."""
    parts = _REASONING_RE.split(text)
    head = parts[0]
    rationale = " ".join(p.strip() for p in parts[1:] if p.strip())
    return head.strip(), rationale.strip(), len(parts) - 1


def parse_response(task_name: str, text, reader=None) -> dict:
    """One answer read into {label, label_source, label_probability, parse_ok, rationale, note, ...}.

    A stated label wins ("stated"; ``stated_at`` says where). Else a reasoning reader, when given, infers one
    ("inferred", with its probability; ``ReasoningReader.read_into``). Never a default: no label, ``note`` why."""
    task = get_task(task_name)
    if text is None or (isinstance(text, float) and text != text):  # None or NaN from a CSV
        text = ""
    text = str(text).strip()
    out = {"label": None, "label_source": None, "label_probability": None, "parse_ok": False, "rationale": "",
           "template_ok": False, "stated_at": None, "inferred_label": None, "inferred_probability": None, "note": None}
    if not text:
        return {**out, "note": "empty answer"}
    head, rationale, markers = split_answer(text)
    # yes/no tasks read the forms models state a label in (core/llm/statements.py); others match keywords
    read = stated_yes_no if set(task.labels) == {"yes", "no"} else label_from_sentence
    if head:
        label = read(task, head) if markers else None
        if label is None:
            # The label sentence without "Reasoning:" after it: read only the first sentence.
            first, rest = _first_sentence(head)
            label = read(task, first)
            if label is not None:
                rationale = (rest + " " + rationale).strip()
                out["stated_at"] = "first sentence"
        else:
            out["stated_at"] = "before Reasoning"
            out["template_ok"] = markers == 1 and bool(rationale)
        if label is None and not markers:
            rationale = head  # free text with no template at all
        out["label"] = label
    if out["label"] is None:
        # Some answers only name the label at the end ("the assigned label for this post is Work").
        stated = [label_from_sentence(task, m.group(1)) for m in _STATED_RE.finditer(text)]
        stated = {s for s in stated if s}
        if not stated and (concluded := concluded_yes_no(task, rationale)):
            stated = {concluded}  # yes/no: "Therefore, the poster suffers from stress." (core/llm/statements.py)
        if len(stated) == 1:
            out["label"] = stated.pop()
            out["stated_at"] = "stated in reasoning"
    out["rationale"] = rationale
    if out["label"] is not None:
        out["label_source"] = "stated"
    if reader is not None and task.kind == "classify":
        reader.read_into(out, task.name)
    elif out["label"] is None:
        out["note"] = "no label sentence found (no reasoning reader was used)"
    out["parse_ok"] = out["label"] is not None
    return out


def label_as_paper(task_name: str, text) -> str | None:
    """MentaLLaMA's evaluation: the label read only from the text before ``Reasoning:``."""
    task = get_task(task_name)
    text = "" if text is None or (isinstance(text, float) and text != text) else str(text)
    head = _REASONING_RE.split(text.strip())[0].strip()
    if not head:
        return None
    label = label_from_sentence(task, head)
    if label is None:
        label = label_from_sentence(task, _first_sentence(head)[0])
    return label
