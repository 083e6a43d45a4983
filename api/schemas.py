"""Request and response bodies of the API (they are the published OpenAPI schema)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.models.heads import HEAD_NAMES

MAX_BATCH = 32
# Longest text accepted, in characters (settings.max_text_chars is checked too, at the edge).
MAX_TEXT_CHARS = 200_000

Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS, description="The text to score (not stored).")]


def _check_text(value: str) -> str:
    if not value.strip():
        raise ValueError("text is empty: send the words to score")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text contains characters that are not valid Unicode text") from exc
    return value


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"text": "I have not slept well."}]})
    text: Text
    indicators: bool = Field(False, description="Also return the psycholinguistic indicators (word counts).")

    @field_validator("text")
    @classmethod
    def _text(cls, v: str) -> str:
        return _check_text(v)


class PredictBatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: list[Text] = Field(description=f"1 to {MAX_BATCH} texts.",
                              json_schema_extra={"minItems": 1, "maxItems": MAX_BATCH})

    @field_validator("texts")
    @classmethod
    def _texts(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError(f"texts is empty: send 1 to {MAX_BATCH} texts")
        if len(v) > MAX_BATCH:
            raise ValueError(f"too many texts ({len(v)}): send at most {MAX_BATCH} per request")
        return [_check_text(t) for t in v]


class HeadScore(BaseModel):
    value: float = Field(description="Prediction (the head's range; family_history is a probability).")
    std: float = Field(description="Monte-Carlo dropout standard deviation.")
    low: float = Field(description="5th percentile over dropout passes.")
    high: float = Field(description="95th percentile over dropout passes.")


class IndicatorsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"text": "I always feel hopeless and alone."}]})
    text: Text

    @field_validator("text")
    @classmethod
    def _text(cls, v: str) -> str:
        return _check_text(v)


class IndicatorCell(BaseModel):
    value: float | None = Field(description="Rate per 100 words (valence: mean VADER compound, -1..1); null when "
                                            "status is not ok.")
    count: int = Field(description="Matches in the rate.")
    negated: int = Field(description="Matches negated within their clause (\"not hopeless\"), counted apart.")
    std: float | None = Field(description="Sampling spread of the value.")
    status: str = Field(description="ok | english_only | no_words | not_applicable")
    reason: str
    share: float | None = Field(None, description="first_person only: share of all personal pronouns.")
    by_subtype: dict[str, int] | None = Field(None, description="distortion only: matches per kind.")


class Indicators(BaseModel):
    version: str = Field(description="Word lists and logic version; changes whenever either changes.")
    words: int
    sentences: int
    language: str = Field(description="en, or other (then no indicator is reported).")
    speaker: str = Field(description="first_person | third_person | unclear")
    speaker_cues: dict[str, int]
    notes: list[str]
    indicators: dict[str, IndicatorCell]
    emotion: dict | None = Field(description="Per sentence [start, end, emotion] and the share of each emotion.")
    spans: list[tuple[int, int, str, str, int]] = Field(
        description="[start, end, indicator, subtype, negated] character spans of every match.")


class Prediction(BaseModel):
    heads: dict[str, HeadScore] = Field(description=f"One entry per head: {', '.join(HEAD_NAMES)}.")
    windows: int = Field(description="Overlapping windows a long text was scored in.")
    tokens: int
    model_version: str = Field(description="Heads version that produced this output.")
    model_id: str
    canary: bool = Field(description="Served by the canary (candidate) version.")
    cached: bool
    indicators: Indicators | None = Field(None, description="Present when the request set indicators=true.")


class PredictBatchResponse(BaseModel):
    results: list[Prediction]


class AnalyzeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Text
    task: str = Field(description="Task name, e.g. depression, stress, stress_cause (GET /tasks lists them).",
                      max_length=100)

    @field_validator("text")
    @classmethod
    def _text(cls, v: str) -> str:
        return _check_text(v)


class Analysis(BaseModel):
    task: str
    label: str | None
    probabilities: dict[str, float]
    rationale: str
    prompt_version: str
    model_id: str
    model_version: str
    notes: list[str]
    truncated: bool | None = None
    cached: bool
    label_source: str = Field("", description="task_head (label from an IMHI task head; the LLM wrote the "
                                              "rationale) or llm")
    label_model_id: str = ""
    label_model_version: str = Field("", description="version of the model that produced the label")
    reliability: dict | None = Field(None, description="{reliable, note, summary} from the label source's recorded "
                                                       "IMHI evaluation")
    faithful_evidence: dict | None = Field(None, description="task-head labels: the note sentences whose deletion "
                                                             "lowers the label's probability most (occlusion)")
    llm: dict | None = Field(None, description="task-head labels: the LLM's own scored label and whether its "
                                               "recorded evaluation makes it a reliable second reading")
    disagreement: bool = False


class TaskInfo(BaseModel):
    name: str
    title: str
    kind: str
    labels: list[str]


class Health(BaseModel):
    status: str
    encoder: dict
    canary: dict | None
    llm: dict
    cache: str


# ----------------------------------------------------------------------------- OpenAI-compatible completions

class CompletionRequest(BaseModel):
    # Clients send many optional OpenAI fields (top_p, presence_penalty, user, ...); ignore the unknown ones.
    model_config = ConfigDict(extra="ignore")
    model: str | None = None
    prompt: str | list[str]
    max_tokens: int = Field(16, ge=0, le=512)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    logprobs: int | None = Field(None, ge=0, le=5)
    echo: bool = False
    stop: str | list[str] | None = None
    n: int = Field(1, ge=1, le=1)
    stream: bool = False

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, v):
        prompts = [v] if isinstance(v, str) else v
        if not prompts:
            raise ValueError("prompt is empty")
        if len(prompts) > 16:
            raise ValueError("at most 16 prompts per request")
        for p in prompts:
            if not p:
                raise ValueError("a prompt is empty")
            if len(p) > MAX_TEXT_CHARS:
                raise ValueError(f"a prompt is longer than {MAX_TEXT_CHARS} characters")
            try:
                p.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ValueError("a prompt contains characters that are not valid Unicode text") from exc
        return v

    @field_validator("temperature")
    @classmethod
    def _greedy(cls, v):
        if v != 0:
            raise ValueError("only greedy decoding is served: set temperature to 0")
        return v

    @field_validator("stream")
    @classmethod
    def _no_stream(cls, v):
        if v:
            raise ValueError("streaming is not supported: set stream to false")
        return v

    @field_validator("stop")
    @classmethod
    def _stop(cls, v):
        stops = [v] if isinstance(v, str) else (v or [])
        if len(stops) > 4:
            raise ValueError("at most 4 stop sequences")
        return v


class CompletionLogprobs(BaseModel):
    tokens: list[str]
    token_logprobs: list[float | None]
    top_logprobs: list[dict[str, float] | None]
    text_offset: list[int]


class CompletionChoice(BaseModel):
    text: str
    index: int
    logprobs: CompletionLogprobs | None
    finish_reason: str


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class CompletionResponse(BaseModel):
    id: str
    object: str = "text_completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: CompletionUsage
