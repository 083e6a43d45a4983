"""The models behind the API: token policy, the prediction log and ``ModelServer``.

The prediction log One row per scored text: keyed text hash, outputs,
  latency, the version that served, the caller. No text, no identifiers.
  The hash is an HMAC with a per-installation secret (``<data_dir>/serving-hash.key``),
  so short texts cannot be recovered by hashing guesses.
"""

from __future__ import annotations

import contextlib
import threading
import time

from core.errors import ConfigError, NoTrainedHeads, TaskHeadsUnavailable
from core.llm.tasks import get_task
from core.models import registry as model_registry
from core.serving.cache import TTLCache, text_hash
from core.serving.canary import Canary, read_canary, route
from core.storage import open_store
from core.storage import serving as sql

PREDICT_ENDPOINTS = ("predict", "predict_batch")

_PLACEHOLDER_TOKENS = {"changeme", "change-me", "change_me", "token", "secret", "placeholder", "test", "xxx",
                       "api-token", "your-token", "your_token_here", "none", "null", "password"}
MIN_TOKEN_LENGTH = 16


# ----------------------------------------------------------------------------- token

def require_api_token(settings) -> str:
    """The API bearer token; ConfigError when it is empty, a placeholder, or too short to resist guessing."""
    token = (settings.api_token or "").strip()
    if not token:
        raise ConfigError("api_token is empty: set MHD_API_TOKEN to a long random value "
                          "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`) before serving")
    if token.lower() in _PLACEHOLDER_TOKENS or "changeme" in token.lower().replace("-", "").replace("_", ""):
        raise ConfigError("api_token is a placeholder; set MHD_API_TOKEN to a long random value before serving")
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(f"api_token is too short ({len(token)} characters); use at least {MIN_TOKEN_LENGTH}")
    return token


# ----------------------------------------------------------------------------- prediction log

def prediction_rows(settings, endpoint: str, texts: list[str], results: list[dict], latency_ms: float,
                    caller: str) -> list[dict]:
    """Log rows for scored texts: keyed hash, head values and stds, version. The text itself is dropped here."""
    rows = []
    per_text = latency_ms / max(1, len(texts))
    for text, r in zip(texts, results, strict=True):
        outputs = {"heads": {n: {"value": round(h["value"], 6), "std": round(h["std"], 6)}
                             for n, h in r["heads"].items()},
                   "windows": r.get("windows"), "tokens": r.get("tokens"), "cached": bool(r.get("cached"))}
        rows.append({"endpoint": endpoint, "text_hash": text_hash(settings, text),
                     "model_version": r["model_version"], "outputs": outputs, "latency_ms": per_text,
                     "caller": caller})
    return rows


def log_predictions(store, rows: list[dict]) -> int:
    return sql.insert_predictions(store, rows)


# ----------------------------------------------------------------------------- the models behind the API

class ModelServer:
    """Encoder versions, the LLM, cache, canary and prediction log, as the API uses them.

    Each request re-reads the LATEST pointer and CANARY.json (two small files),
    so `python -m core canary ...` and `models promote/rollback` take effect on a
    running server without a restart. Versions no longer served are dropped.
    The model functions are parameters so tests can put small doubles at the
    model boundary; by default they are the real ``core.models.encoder`` / ``core.llm.model``
    / ``core.llm.answers`` / ``core.backends`` ones.
    """
    def __init__(self, settings, *, cache=None, store=None, load_encoder=None, score_texts=None, load_llm=None,
                 analyze=None, complete=None):

        self.settings = settings
        self.cache = cache if cache is not None else TTLCache()
        self.store = store if store is not None else open_store(settings.database, key=settings.database_key)
        self._load_encoder, self._score_texts = load_encoder, score_texts
        self._load_llm, self._analyze, self._complete = load_llm, analyze, complete
        self._encoders: dict[str, object] = {}
        self._encoder_lock = threading.Lock()
        self._llm = None
        self._llm_state = "not loaded"
        self._llm_load_lock = threading.Lock()
        self.llm_lock = threading.Lock()  # one generation at a time: two would only share the same CPU cores
        self.counters: dict[str, int] = {}
        self._count_lock = threading.Lock()

    # -- bookkeeping
    def count(self, name: str, n: int = 1) -> None:
        with self._count_lock:
            self.counters[name] = self.counters.get(name, 0) + n

    # -- encoder
    def stable_version(self) -> str:
        return model_registry.resolve_version(self.settings.heads_dir, self.settings.heads_version)

    def canary(self) -> Canary | None:
        return read_canary(self.settings.heads_dir)

    def encoder(self, version: str):
        enc = self._encoders.get(version)
        if enc is not None:
            return enc
        with self._encoder_lock:
            enc = self._encoders.get(version)
            if enc is None:
                load = self._load_encoder
                if load is None:
                    from core.models.encoder import load_encoder as load
                enc = load(self.settings.replace(heads_version=version))
                self._encoders[version] = enc
        return enc

    def _drop_unused(self, keep: set[str]) -> None:
        with self._encoder_lock:
            for v in [v for v in self._encoders if v not in keep]:
                del self._encoders[v]

    def predict(self, texts: list[str], *, endpoint: str, caller: str = "") -> list[dict]:
        """Score texts with the version each is routed to; cached; logged without text. Order is kept."""
        t0 = time.perf_counter()
        stable = self.stable_version()
        canary = self.canary()
        if canary is not None and canary.version == stable:
            canary = None
        self._drop_unused({stable} | ({canary.version} if canary else set()))
        hashes = [text_hash(self.settings, t) for t in texts]
        results: list[dict | None] = [None] * len(texts)
        todo: dict[str, list[int]] = {}
        for i, h in enumerate(hashes):
            version = route(stable, canary, h)
            hit = self.cache.get(f"heads:{version}:{h}")
            if hit is not None:
                results[i] = {**hit, "cached": True}
                self.count("cache_hit")
            else:
                todo.setdefault(version, []).append(i)
                self.count("cache_miss")
        for version, idx in todo.items():
            enc = self.encoder(version)
            score = self._score_texts
            if score is None:
                from core.models.encoder import score_texts as score
            scored = score(enc, [texts[i] for i in idx])
            for i, r in zip(idx, scored, strict=True):
                out = {"heads": r["heads"], "windows": r["windows"], "tokens": r["tokens"], "model_version": version,
                       "model_id": enc.model_id, "canary": canary is not None and version == canary.version}
                self.cache.set(f"heads:{version}:{hashes[i]}", out)
                results[i] = {**out, "cached": False}
        latency = (time.perf_counter() - t0) * 1000
        for r in results:
            self.count(f"served:{r['model_version']}")
        log_predictions(self.store, prediction_rows(self.settings, endpoint, texts, results, latency, caller))
        return results

    # -- LLM
    @property
    def llm_state(self) -> str:
        return self._llm_state

    def llm(self):
        if self._llm is not None:
            return self._llm
        with self._llm_load_lock:
            if self._llm is None:
                self._llm_state = "loading"
                load = self._load_llm
                if load is None:
                    from core.llm.model import load_llm as load
                try:
                    self._llm = load(self.settings)
                except Exception as exc:
                    self._llm_state = f"unavailable: {exc}"
                    raise
                self._llm_state = "ready"
        return self._llm

    def preload_llm(self) -> threading.Thread:
        """Load the LLM in the background so /health answers while it loads (first load takes a while)."""
        def run():
            with contextlib.suppress(Exception):
                self.llm()
        thread = threading.Thread(target=run, name="llm-preload", daemon=True)
        thread.start()
        return thread

    def analyze(self, text: str, task: str, *, caller: str = "") -> dict:
        """LLM label, probabilities and rationale for one text; cached by model, prompt version, task and text."""
        get_task(task)  # unknown task -> KeyError before any model work
        llm = self.llm()
        t0 = time.perf_counter()
        h = text_hash(self.settings, text)
        heads, encoder = self.task_heads_for(task)
        head_key = f":{heads.version}" if heads is not None else ""
        key = f"llm:{llm.version}:{task}:{get_task(task).prompt_version}{head_key}:{h}"
        out = self.cache.get(key)
        cached = out is not None
        self.count("cache_hit" if cached else "cache_miss")
        if not cached:
            analyze = self._analyze
            with self.llm_lock:
                if analyze is None:
                    from core.labels import answer

                    res = answer(llm, task, text, task_heads=heads, encoder=encoder)
                    from core.models.task_heads import HEADED_TASKS

                    if heads is None and task in HEADED_TASKS and getattr(self, "task_heads_error", ""):
                        res["notes"] = [*res.get("notes", []), "No task head gave this label (the language model "
                                        f"did): {self.task_heads_error}"]
                else:
                    res = analyze(llm, task, text)
            out = {k: res.get(k) for k in ("task", "label", "probabilities", "rationale", "prompt_version",
                                           "model_id", "model_version", "notes", "truncated", "label_source",
                                           "label_model_id", "label_model_version", "reliability",
                                           "faithful_evidence", "llm", "disagreement")}
            out["notes"] = list(out.get("notes") or [])
            out["disagreement"] = bool(out.get("disagreement"))
            for k in ("label_source", "label_model_id", "label_model_version"):
                out[k] = out.get(k) or ""
            self.cache.set(key, out)
        latency = (time.perf_counter() - t0) * 1000
        log_predictions(self.store, [{
            "endpoint": "analyze", "text_hash": h, "model_version": out["model_version"] or llm.version,
            "outputs": {"task": task, "label": out["label"], "probabilities": out["probabilities"], "cached": cached},
            "latency_ms": latency, "caller": caller}])
        return {**out, "cached": cached}

    def task_heads_for(self, task: str):
        """(task heads, encoder) when a task head labels `task` (loaded on the stable encoder version), else
        (None, None): then the LLM labels it and ``task_heads_error`` says why no task heads were loaded (a
        folder trained on another backbone is refused by name, nothing of it is loaded)."""
        from core.models.task_heads import HEADED_TASKS, load_task_heads

        if self._analyze is not None or task not in HEADED_TASKS:
            return None, None
        encoder = self.encoder(self.stable_version())
        key = (id(encoder), str(self.settings.task_heads_dir), self.settings.task_heads_version)
        cached = getattr(self, "_task_heads", None)
        if cached is None or cached[0] != key:
            try:
                heads, self.task_heads_error = load_task_heads(self.settings, encoder), ""
            except TaskHeadsUnavailable as exc:
                heads, self.task_heads_error = None, f"{type(exc).__name__}: {exc}"
            self._task_heads = cached = (key, heads)
        heads = cached[1]
        return (heads, encoder) if heads is not None and heads.has(task) else (None, None)

    def complete(self, prompts: list[str], **kwargs) -> list[dict]:
        complete = self._complete
        if complete is None:
            from core.serving.completions import complete
        llm = self.llm()
        out = []
        with self.llm_lock:
            for p in prompts:
                out.append(complete(llm, p, **kwargs))
        return out

    def health(self) -> dict:
        """Status and loaded model versions; nothing about any text or patient."""
        enc: dict = {"loaded_versions": sorted(self._encoders)}
        try:
            enc["version"] = self.stable_version()
            enc["status"] = "ready"
        except NoTrainedHeads as exc:
            enc["version"], enc["status"], enc["detail"] = None, "no trained heads", str(exc)
        if enc.get("version") in self._encoders:
            enc["model_id"] = self._encoders[enc["version"]].model_id
        try:
            c = self.canary()
            canary = {"version": c.version, "share": c.share} if c else None
        except ConfigError as exc:
            canary = {"error": str(exc)}
        llm = {"status": self._llm_state}
        if self._llm is not None:
            llm.update(version=self._llm.version, model_id=self._llm.model_id)
        status = "ok" if enc["status"] == "ready" and not self._llm_state.startswith("unavailable") else "degraded"
        return {"status": status, "encoder": enc, "canary": canary, "llm": llm,
                "cache": getattr(self.cache, "backend", "memory")}
