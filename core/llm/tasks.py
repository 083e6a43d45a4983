"""Task registry: MentaLLaMA's query format, label sets and versioned prompts.

Each task asks one question about a post, in the IMHI wording
(``Consider this post: "<post>" Question: <question>``), and names for each
label the sentence a MentaLLaMA-style model answers with
(``<label sentence> Reasoning: <explanation>``). Scoring those sentences gives
the label; the rationale is generated after the chosen sentence.

The digital-twin tasks (risk, progression, next steps) use the same machinery
with their own prompts. Every prompt carries a version that is stored with each
output; change the version whenever the wording of a prompt or a label sentence
changes. This module imports no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import ValidationError

REASONING = "Reasoning:"
# Text between the query and the answer; part of the prompt format (and so of its version).
ANSWER_SEPARATOR = "\n"


@dataclass(frozen=True)
class Task:
    name: str
    title: str
    question: str
    # label -> the answer sentence that states it (the order is the display order)
    label_sentences: dict[str, str]
    prompt_version: str
    kind: str = "classify"  # "classify" | "generate"
    # IMHI dataset file stem this task is trained/evaluated on ("" when none ships)
    dataset: str = ""
    # extra spellings seen in IMHI answers, lower case: alias -> label
    aliases: dict[str, str] = field(default_factory=dict)
    # how the post is introduced; the digital-twin tasks use other framings
    intro: str = "Consider this post"

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.label_sentences)

    def build_query(self, text: str) -> str:
        """The IMHI query for one post (quotes inside the post are kept as they are)."""
        return f'{self.intro}: "{text}" Question: {self.question}'

    def build_prompt(self, text: str) -> str:
        """What the model reads before its answer."""
        return self.build_query(text) + ANSWER_SEPARATOR

    def answer(self, label: str, rationale: str = "") -> str:
        """The full answer in MentaLLaMA's template (used for training and gold answers)."""
        if label not in self.label_sentences:
            raise ValidationError(f"{label!r} is not a label of task {self.name!r}: {', '.join(self.labels)}")
        sentence = self.label_sentences[label]
        return f"{sentence} {REASONING} {rationale.strip()}" if rationale.strip() else sentence


def _yes_no(yes: str, no: str) -> dict[str, str]:
    return {"yes": yes, "no": no}


_tasks: list[Task] = [
    Task(
        "depression", "Depression (IMHI DR)", "Does the poster suffer from depression?",
        _yes_no("Yes, the poster suffers from depression.", "No, the poster does not suffer from depression."),
        "imhi-1", dataset="DR",
    ),
    Task(
        "stress", "Stress (Dreaddit)", "Does the poster suffer from stress?",
        _yes_no("Yes, the poster suffers from stress.", "No, the poster does not suffer from stress."),
        "imhi-1", dataset="dreaddit",
    ),
    Task(
        "stress_cause", "Stress cause (SAD)", "What is the stress cause of this post?",
        {
            "school": "This post shows the stress cause related to school.",
            "financial problem": "This post shows the stress cause related to financial problem.",
            "family issues": "This post shows the stress cause related to family issues.",
            "social relationships": "This post shows the stress cause related to social relationships.",
            "work": "This post shows the stress cause related to work.",
            "health issues": "This post shows the stress cause related to health issues.",
            # IMHI's own answers say "emotion turmoil"; the sentence keeps their wording.
            "emotional turmoil": "This post shows the stress cause related to emotion turmoil.",
            "everyday decision making": "This post shows the stress cause related to everyday decision making.",
            "other": "This post shows other stress causes.",
        },
        "imhi-1", dataset="SAD",
        aliases={"emotion turmoil": "emotional turmoil", "financial problems": "financial problem",
                 "family issue": "family issues", "social relationship": "social relationships",
                 "health issue": "health issues", "decision making": "everyday decision making"},
    ),
    Task(
        "depression_cause", "Cause of depression (CAMS)", "What cause of depression does this post show?",
        {
            "none": "This post shows no causes of depression.",
            "bias or abuse": "This post shows causes of depression related to bias or abuse.",
            # IMHI answers say "jobs and career"
            "jobs and careers": "This post shows causes of depression related to jobs and career.",
            "medication": "This post shows causes of depression related to medication.",
            "relationship": "This post shows causes of depression related to relationship.",
            "alienation": "This post shows causes of depression related to alienation.",
        },
        "imhi-1", dataset="CAMS",
        aliases={"jobs and career": "jobs and careers", "job and career": "jobs and careers",
                 "relationships": "relationship", "no causes": "none", "bias and abuse": "bias or abuse"},
    ),
]

WELLNESS_DIMENSIONS = ("spiritual", "physical", "intellectual", "social", "vocational", "emotional")
for _dim in WELLNESS_DIMENSIONS:
    _tasks.append(Task(
        f"wellness_{_dim}", f"Wellness: {_dim} (MultiWD)", f"Does the {_dim} wellness dimension exist in the post?",
        _yes_no("Yes, this wellness dimension exists in the post.",
                "No, this wellness dimension does not exist in the post."),
        "imhi-1", dataset="MultiWD",
    ))

INTERPERSONAL_RISKS = ("thwarted belongingness", "perceived burdensomeness")
for _risk in INTERPERSONAL_RISKS:
    _tasks.append(Task(
        "irf_" + _risk.replace(" ", "_"), f"Interpersonal risk: {_risk} (IRF)",
        f"Does the post show risk of {_risk}?",
        _yes_no("Yes, the post shows this risk.", "No, the post does not show this risk."),
        "imhi-1", dataset="Irf",
    ))

_tasks += [
    # No training data for these ships with the project; the wording follows the IMHI pattern.
    Task(
        "loneliness", "Loneliness", "Does the poster suffer from loneliness?",
        _yes_no("Yes, the poster suffers from loneliness.", "No, the poster does not suffer from loneliness."),
        "imhi-1", dataset="loneliness",
    ),
    Task(
        "mental_disorder", "Mental disorder (T-SID / SWMH)", "What mental disorder does this post show?",
        {
            "no mental disorders": "This post does not show any mental disorders.",
            "suicide or self-harm tendency": "This post shows suicide or self-harm tendency.",
            "depression": "This post shows depression.",
            "ptsd": "This post shows PTSD.",
            "anxiety": "This post shows anxiety.",
            "bipolar": "This post shows bipolar disorder.",
        },
        "imhi-1", dataset="swmh",
        aliases={"no mental disorder": "no mental disorders", "suicide": "suicide or self-harm tendency",
                 "self-harm": "suicide or self-harm tendency", "bipolar disorder": "bipolar",
                 "post-traumatic stress disorder": "ptsd", "offmychest": "no mental disorders"},
    ),
    # The tone of a note among a small fixed set (the word-list emotion of core.clinical.indicators uses the same
    # five). No IMHI dataset asks it; the wording follows the IMHI pattern and the label is scored, not parsed.
    Task(
        "emotion", "Emotion", "What emotion does the poster mainly express?",
        {
            "sadness": "The poster mainly expresses sadness.",
            "fear": "The poster mainly expresses fear.",
            "anger": "The poster mainly expresses anger.",
            "joy": "The poster mainly expresses joy.",
            "neutral": "The poster does not express a particular emotion.",
        },
        "emotion-1", dataset="",
        aliases={"sad": "sadness", "sorrow": "sadness", "anxiety": "fear", "afraid": "fear", "angry": "anger",
                 "happiness": "joy", "happy": "joy", "no particular emotion": "neutral", "no emotion": "neutral"},
    ),
    # --- digital-twin tasks ---------------------------------------------------
    Task(
        "risk", "Risk assessment", "What is the level of mental-health risk shown in this text?",
        {
            "low": "The text shows a low level of risk.",
            "medium": "The text shows a medium level of risk.",
            "high": "The text shows a high level of risk.",
        },
        "twin-1", kind="classify", intro="Consider this clinical note",
        aliases={"moderate": "medium", "low risk": "low", "high risk": "high", "medium risk": "medium"},
    ),
    Task(
        "progression", "Symptom progression", "How have the patient's symptoms changed across these visits?",
        {
            "improving": "The symptoms are improving.",
            "stable": "The symptoms are stable.",
            "worsening": "The symptoms are worsening.",
        },
        "twin-1", kind="classify", intro="Consider these dated visit notes",
        aliases={"better": "improving", "worse": "worsening", "unchanged": "stable", "improved": "improving",
                 "worsened": "worsening"},
    ),
    Task(
        "next_steps", "Suggested next steps",
        "What next steps could a clinician consider for this patient? List brief suggestions.",
        {"suggestions": "Suggested next steps for the clinician to consider:"},
        "twin-1", kind="generate", intro="Consider this clinical note",
    ),
]

TASKS: dict[str, Task] = {t.name: t for t in _tasks}
# IMHI dataset stem (case-insensitive) -> task names asked of it
DATASET_TASKS: dict[str, list[str]] = {}
for _t in _tasks:
    if _t.dataset:
        DATASET_TASKS.setdefault(_t.dataset.lower(), []).append(_t.name)
DATASET_TASKS["t-sid"] = ["mental_disorder"]

NEXT_STEPS_DISCLAIMER = (
    "These suggestions were generated by a language model from the note alone. They are not a diagnosis "
    "or a treatment plan; a qualified clinician must review them against the full clinical picture."
)


def get_task(name: str | Task) -> Task:
    """The task of that name; a Task passes through, so a run resolves its task once and hands the object on."""
    if isinstance(name, Task):
        return name
    try:
        return TASKS[name]
    except KeyError:
        raise ValidationError(f"Unknown task {name!r}; known tasks: {', '.join(TASKS)}") from None


def resolve_tasks(name: str) -> list[str]:
    """Task names for a task name or an IMHI dataset name (DR, dreaddit, SAD, Irf, MultiWD, CAMS, ...).

    A dataset asks one question (DR -> depression) or several (Irf, MultiWD: one task per question)."""
    if name in TASKS:
        return [name]
    key = str(name or "").strip().lower()
    if key in DATASET_TASKS:
        return list(DATASET_TASKS[key])
    datasets = sorted({t.dataset for t in _tasks if t.dataset} | {"t-sid"}, key=str.lower)
    raise ValidationError(f"Unknown task or dataset {name!r}; tasks: {', '.join(TASKS)}; "
                          f"datasets: {', '.join(datasets)}")


def task_for_query(query: str, dataset: str | None = None) -> Task:
    """Which task an IMHI query asks (by its question), optionally among a dataset's tasks."""
    names = DATASET_TASKS.get(dataset.lower(), list(TASKS)) if dataset else list(TASKS)
    tail = query.rsplit("Question:", 1)[-1].strip().lower()
    for name in names:
        if TASKS[name].question.lower() == tail:
            return TASKS[name]
    for name in names:  # tolerate small wording drift: unique label set is enough for one-task datasets
        if len(names) == 1:
            return TASKS[name]
    raise ValidationError(f"No task asks {tail!r}" + (f" in dataset {dataset}" if dataset else ""))


def split_query(query: str) -> tuple[str, str]:
    """(post, question) of an IMHI query ``Consider this post: "<post>" Question: <question>``."""
    head, sep, question = query.rpartition("Question:")
    if not sep:
        return query.strip(), ""
    post = head.strip()
    for intro in ("Consider this post:",):
        if post.startswith(intro):
            post = post[len(intro):].strip()
    if len(post) >= 2 and post[0] == '"' and post[-1] == '"':
        post = post[1:-1]
    return post, question.strip()
