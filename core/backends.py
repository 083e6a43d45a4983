"""Remote model backends for the dashboard, and the OpenAI completions protocol they speak.

When one workstation is not enough, settings point the dashboard at servers:

* ``encoder_url`` -> this project's API (``python -m core serve``). ``RemoteEncoder``
  has the attributes of ``core.models.encoder.Encoder`` that callers read (version,
  model_id, device, head_names) and ``score_texts(encoder, texts, progress=)``
  here returns the same list of dicts, from ``POST /predict_batch`` in chunks
  of 32. Each result also names the version that served it (canary).
* ``llm_url`` -> any OpenAI-compatible ``/v1/completions`` server (this API,
  vLLM, llama.cpp's server, ...). ``analyze(llm, task, text)`` returns what
  ``core.llm.answers.analyze`` returns. The label is **scored**, as in process: each
  candidate label sentence is appended to the prompt and sent with
  ``echo=true, logprobs=0, max_tokens=0``; the log-probabilities of the tokens
  after the prompt (found by ``text_offset``) are summed and normalised into
  probabilities. The rationale is then generated greedily (temperature 0) after
  the chosen label sentence and ``Reasoning:``. **Fallback:** a server that
  returns no prompt log-probabilities (many do not support ``echo`` with
  ``logprobs``) gets one generation from the bare prompt, read with
  ``core.llm.parsing.parse_response``; the label then has no probabilities, which
  the result's ``label_method`` and notes say.

``load_encoder(settings)`` / ``load_llm(settings)`` pick the remote backend when
the URL setting is set and the in-process model otherwise. Both send
``settings.api_token`` as the bearer token.

The server side of the completions protocol is ``core.serving.completions``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from core.errors import (
    ConfigError,
    InferenceError,
    ModelUnavailable,
    NoTrainedHeads,
    RemoteUnsupported,
    ValidationError,
)
from core.llm.model import load_llm as local
from core.llm.parsing import parse_response
from core.llm.tasks import REASONING, get_task
from core.models.heads import HEAD_NAMES

__all__ = ["RemoteEncoder", "RemoteLLM", "score_texts", "analyze", "load_encoder", "load_llm",
           "BATCH_LIMIT", "is_remote", "require_in_process"]

BATCH_LIMIT = 32            # texts per /predict_batch request (the API's limit)
DEFAULT_TIMEOUT = 120.0     # seconds; a long text on a CPU LLM takes a while
# Characters of post sent to a remote LLM; the in-process path cuts by tokens (2048), ~4 characters each.
REMOTE_MAX_CHARS = 8000


# ============================================================================ dispatch

def is_remote(model) -> bool:
    """True for a model behind a server (RemoteEncoder, RemoteLLM); the one place the two kinds are told apart."""
    return isinstance(model, (RemoteEncoder, RemoteLLM))


def require_in_process(model, feature: str, setting: str) -> None:
    """RemoteUnsupported, naming the feature and the setting to unset, when ``model`` is behind a server."""
    if is_remote(model):
        raise RemoteUnsupported(f"{feature} needs the in-process model; unset {setting} to use it.")


# ============================================================================ HTTP

def _loopback(host: str) -> bool:
    import ipaddress

    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_token_transport(url: str, token: str) -> None:
    """ConfigError unless the bearer token would travel encrypted (https) or stay on this machine (loopback):
    over plain http anyone on the path could read it and use the API as this server."""
    from urllib.parse import urlsplit

    if not token:
        return
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "https" or (scheme == "http" and _loopback(parts.hostname or "")):
        return
    raise ConfigError(f"Refusing to send the API token to {parts.scheme or '?'}://{parts.hostname or url}: use an "
                      "https:// address, or a loopback one (localhost, 127.0.0.1) for a server on this machine.")


def _client(url: str, token: str, timeout: float, transport=None):
    import httpx

    check_token_transport(url, token)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout, transport=transport)


def _call(client, method: str, path: str, what: str, **kwargs) -> dict:
    """One request; transport and HTTP failures become the library's named errors."""
    import httpx

    try:
        resp = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise ModelUnavailable(f"The {what} server at {client.base_url} does not answer ({exc.__class__.__name__}: "
                               f"{exc})") from exc
    if resp.status_code == 401 or resp.status_code == 403:
        raise ConfigError(f"The {what} server at {client.base_url} refused the API token (HTTP {resp.status_code}); "
                          f"check MHD_API_TOKEN")
    try:
        body = resp.json()
    except ValueError:
        body = {}
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        code, message = detail.get("code"), detail.get("message", "")
    else:
        code, message = None, detail if isinstance(detail, str) else (body.get("error") if isinstance(body, dict)
                                                                      else "")
        if isinstance(message, dict):
            message = message.get("message", "")
    if resp.status_code == 503 and code == "no_trained_heads":
        raise NoTrainedHeads(message or "The encoder server has no trained heads")
    if resp.status_code in (400, 422):
        raise ValidationError(f"The {what} server rejected the request: {message or resp.text[:300]}")
    if resp.status_code == 503:
        raise ModelUnavailable(f"The {what} server has no model ready: {message or resp.text[:300]}")
    if resp.status_code >= 400:
        raise InferenceError(f"The {what} server failed (HTTP {resp.status_code}): {message or resp.text[:300]}")
    return body


# ============================================================================ encoder

@dataclass
class RemoteEncoder:
    """The encoder behind this project's API, with the attributes callers of ``Encoder`` read."""

    url: str
    token: str
    version: str
    model_id: str
    head_names: list[str]
    timeout: float = DEFAULT_TIMEOUT
    transport: object = None

    @property
    def device(self) -> str:
        return f"remote:{self.url}"

    def client(self):
        return _client(self.url, self.token, self.timeout, self.transport)


def connect_encoder(url: str, token: str, *, timeout: float = DEFAULT_TIMEOUT, transport=None) -> RemoteEncoder:
    """Ask the API's /health which heads version it serves; NoTrainedHeads when it has none."""

    with _client(url, token, timeout, transport) as c:
        health = _call(c, "GET", "/health", "encoder")
    enc = health.get("encoder") or {}
    if enc.get("status") == "no trained heads":
        raise NoTrainedHeads(f"The encoder server at {url} has no trained heads: {enc.get('detail', '')}")
    if not enc.get("version"):
        raise ModelUnavailable(f"The encoder server at {url} reports no encoder ({enc})")
    return RemoteEncoder(url=url, token=token, version=enc["version"],
                         model_id=enc.get("model_id") or "remote", head_names=list(HEAD_NAMES), timeout=timeout,
                         transport=transport)


def score_texts(encoder, texts: list[str], *, progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """``core.models.encoder.score_texts`` for a RemoteEncoder (and the in-process one, passed through)."""
    if not is_remote(encoder):
        from core.models.encoder import score_texts as local

        return local(encoder, texts, progress=progress)
    texts = [t if isinstance(t, str) else "" for t in texts]
    if any(not t.strip() for t in texts):
        raise ValidationError("A text is empty; the encoder server scores only texts with words in them")
    out: list[dict] = []
    with encoder.client() as c:
        for start in range(0, len(texts), BATCH_LIMIT):
            chunk = texts[start:start + BATCH_LIMIT]
            body = _call(c, "POST", "/predict_batch", "encoder", json={"texts": chunk})
            for r in body["results"]:
                out.append({"heads": r["heads"], "windows": r["windows"], "tokens": r["tokens"],
                            "model_version": r["model_version"]})
            if progress:
                progress(len(out), len(texts))
    return out


# ============================================================================ LLM client

@dataclass
class RemoteLLM:
    """An OpenAI-compatible completions server. ``model`` is the served model's id (from /v1/models)."""

    url: str
    token: str
    model: str
    timeout: float = DEFAULT_TIMEOUT
    max_new_tokens: int = 96
    transport: object = None
    notes: list[str] = field(default_factory=list)
    # Label-prior correction of the served adapter ({task: {label: shift}}), as core.llm.model.LLM.prior_shift.
    # This project's server advertises it in /v1/models; other servers (vLLM) give none, so none is applied.
    prior_shift: dict = field(default_factory=dict)

    @property
    def model_id(self) -> str:
        return self.model

    @property
    def version(self) -> str:
        return f"remote:{self.model}"

    @property
    def adapter_hash(self) -> str:
        return ""

    def client(self):
        return _client(self.url, self.token, self.timeout, self.transport)

    def completions(self, prompt, **params) -> list[dict]:
        with self.client() as c:
            body = _call(c, "POST", "/v1/completions", "LLM",
                         json={"model": self.model, "prompt": prompt, "temperature": 0, **params})
        choices = body.get("choices") or []
        return sorted(choices, key=lambda ch: ch.get("index", 0))

    def continuation_logprobs(self, prompt: str, continuations: list[str]) -> list[float] | None:
        """Summed log-probabilities of each continuation after ``prompt``; None when the server gives none."""
        try:
            choices = self.completions([prompt + c for c in continuations], max_tokens=0, echo=True, logprobs=0)
        except ValidationError:
            # Some servers refuse max_tokens=0; one extra token costs little and is ignored below.
            try:
                choices = self.completions([prompt + c for c in continuations], max_tokens=1, echo=True,
                                           logprobs=0)
            except ValidationError:
                return None
        if len(choices) != len(continuations):
            return None
        sums = []
        for ch, cont in zip(choices, continuations, strict=True):
            lp = ch.get("logprobs") or {}
            values, offsets = lp.get("token_logprobs"), lp.get("text_offset")
            if not values or not offsets or len(values) != len(offsets):
                return None
            end = len(prompt) + len(cont)
            picked = [v for v, o in zip(values, offsets, strict=True) if len(prompt) <= o < end and v is not None]
            if not picked:
                return None
            sums.append(float(sum(picked)))
        return sums

    def generate(self, prompt: str, max_tokens: int, stop: list[str] | None = None) -> tuple[str, str]:
        params = {"max_tokens": int(max_tokens)}
        if stop:
            params["stop"] = stop
        choices = self.completions(prompt, **params)
        if not choices:
            raise InferenceError(f"The LLM server at {self.url} returned no completion")
        return choices[0].get("text") or "", choices[0].get("finish_reason") or ""


def connect_llm(url: str, token: str, *, model: str = "", timeout: float = DEFAULT_TIMEOUT,
                max_new_tokens: int = 96, transport=None) -> RemoteLLM:
    """A RemoteLLM; the model id (and any label-prior correction) is read from /v1/models when not given."""
    shift: dict = {}
    if not model:
        with _client(url, token, timeout, transport) as c:
            listing = _call(c, "GET", "/v1/models", "LLM")
        data = listing.get("data") or []
        if not data:
            raise ModelUnavailable(f"The LLM server at {url} lists no models")
        model = data[0]["id"]
        shift = _valid_shift(data[0].get("label_prior_shift"))
    return RemoteLLM(url=url, token=token, model=model, timeout=timeout, max_new_tokens=max_new_tokens,
                     transport=transport, prior_shift=shift)


def _valid_shift(value) -> dict:
    """{task: {label: float}} as advertised by the server; anything else is ignored rather than trusted."""
    if not isinstance(value, dict):
        return {}
    out: dict = {}
    for task, labels in value.items():
        if isinstance(task, str) and isinstance(labels, dict):
            clean = {k: float(v) for k, v in labels.items()
                     if isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool)
                     and math.isfinite(v)}
            if clean:
                out[task] = clean
    return out


def _softmax(scores: list[float]) -> list[float]:
    m = max(scores)
    e = [math.exp(s - m) for s in scores]
    z = sum(e)
    return [x / z for x in e]


def analyze(llm, task_name: str, text: str, *, on_token=None, max_new_tokens: int | None = None,
            follow_label: str | None = None) -> dict:
    """``core.llm.answers.analyze`` for a RemoteLLM (and the in-process one, passed through).

    ``on_token`` receives the rationale once, whole: the completion is not streamed. With `follow_label` the
    rationale is generated after that label's sentence (the model's own label is still returned).
    """
    if not is_remote(llm):
        from core.llm.answers import analyze as local

        return local(llm, task_name, text, on_token=on_token, max_new_tokens=max_new_tokens,
                     follow_label=follow_label)

    task = get_task(task_name)
    if text is None or not str(text).strip():
        raise ValidationError("The text is empty; there is nothing to analyse")
    t0 = time.perf_counter()
    text = str(text).strip()
    notes: list[str] = []
    truncated = len(text) > REMOTE_MAX_CHARS
    if truncated:
        text = text[:REMOTE_MAX_CHARS]
        notes.append(f"The text was longer than the model reads at once; only its first {REMOTE_MAX_CHARS} "
                     f"characters were analysed.")
    limit = int(max_new_tokens or llm.max_new_tokens or 96)
    prompt = task.build_prompt(text)
    result = {"task": task.name, "prompt_version": task.prompt_version, "model_id": llm.model_id,
              "model_version": llm.version, "adapter_hash": "", "label": None, "probabilities": {},
              "truncated": truncated, "notes": notes}
    sentences = list(task.label_sentences.values())
    scores = llm.continuation_logprobs(prompt, sentences) if task.kind == "classify" else None
    if task.kind != "classify" or scores is not None:
        if scores is not None:
            from core.llm.answers import corrected_scores

            # The same label-prior correction as in process, when the served adapter's priors are known.
            probs = _softmax(corrected_scores(llm, task, scores))
            result["probabilities"] = {label: round(p, 6) for label, p in zip(task.labels, probs, strict=True)}
            result["label"] = max(result["probabilities"], key=result["probabilities"].get)
            sentence = task.label_sentences[follow_label or result["label"]]
            lead = f"{sentence} {REASONING}"
        else:
            sentence = lead = sentences[0]
        rationale, finish = llm.generate(prompt + lead, limit)
        result.update(label_method="logprobs" if scores is not None else "generated", label_sentence=sentence)
    else:
        generated, finish = llm.generate(prompt, limit + 32)
        parsed = parse_response(task.name, generated)
        result["label"], rationale = parsed["label"], parsed["rationale"]
        result["label_method"] = "parsed from generated text"
        notes.append("The LLM server gives no prompt log-probabilities, so the label was read from its generated "
                     "answer and has no probabilities.")
        if parsed["label"] is None:
            notes.append("No label could be read from the model's answer.")
    rationale = rationale.strip()
    if finish == "length":
        notes.append(f"The rationale was cut at {limit} tokens.")
    if on_token is not None and rationale:
        on_token(rationale)
    result.update(rationale=rationale, seconds=round(time.perf_counter() - t0, 3))
    return result


# ============================================================================ choosing a backend

def load_encoder(settings):
    """RemoteEncoder when ``settings.encoder_url`` is set, else the in-process ``core.models.encoder.load_encoder``."""
    if settings.encoder_url:
        return connect_encoder(settings.encoder_url, settings.api_token)
    from core.models.encoder import load_encoder as local

    return local(settings)


def load_llm(settings):
    """RemoteLLM when ``settings.llm_url`` is set, else the in-process ``core.llm.model.load_llm``."""
    if settings.llm_url:
        return connect_llm(settings.llm_url, settings.api_token, max_new_tokens=settings.max_new_tokens)

    return local(settings)
