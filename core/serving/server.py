"""Model operations behind the API: cache, prediction log, canary routing and drift.

* **Cache.** Outputs of repeated texts are kept for ``CACHE_TTL_SECONDS`` (1 h)
  in process, or in Redis when ``REDIS_URL`` is set (several API workers then
  share it). Keys hold the model version and a keyed hash of the text, never
  the text, so a Redis dump reveals nothing and a new version never serves an
  old answer.
* **Prediction log.** One row per scored text: keyed text hash, outputs,
  latency, the version that served, the caller. No text, no identifiers.
  The hash is an HMAC with a per-installation secret (``<data_dir>/serving-hash.key``),
  so short texts cannot be recovered by hashing guesses.
* **Canary.** ``<heads_dir>/CANARY.json`` names a candidate heads version and
  its share (default 10%). Routing is by text hash: the same text always goes
  to the same version (repeatable outputs, cache friendly), and about ``share``
  of distinct texts go to the candidate. Every output records its version.
* **Drift.** Each heads version carries ``reference.json``: per head, a sample
  of its values on a reference corpus. ``drift_report`` compares the values
  logged since a date with it: PSI on the reference's deciles and the
  two-sample Kolmogorov-Smirnov test.

No torch here; ``build_reference`` imports the encoder only when it runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.errors import ConfigError, ModelUnavailable, NotFound, ValidationError

__all__ = [
    "CACHE_TTL_SECONDS", "DEFAULT_CANARY_SHARE", "TTLCache", "RedisCache", "make_cache", "require_api_token",
    "text_hash", "prediction_rows", "log_predictions", "Canary", "read_canary", "set_canary", "clear_canary",
    "promote_canary", "route", "parse_since", "psi", "ks", "save_reference", "load_reference", "build_reference",
    "drift_report",
]

CACHE_TTL_SECONDS = 3600
CACHE_MAX_ENTRIES = 10_000
DEFAULT_CANARY_SHARE = 0.10
CANARY_FILE = "CANARY.json"
REFERENCE_FILE = "reference.json"
HASH_KEY_FILE = "serving-hash.key"
# PSI bands commonly used in model monitoring: < 0.1 stable, 0.1-0.25 moderate, >= 0.25 major shift.
PSI_MODERATE, PSI_MAJOR = 0.10, 0.25
KS_ALPHA = 0.01
MIN_RECENT = 100          # below this, PSI on 10 bins is mostly sampling noise (expected ~9/n)
REFERENCE_SAMPLE = 2000   # values kept per head in reference.json
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


# ----------------------------------------------------------------------------- text hash

_key_lock = threading.Lock()
_keys: dict[str, bytes] = {}


def _hash_key(data_dir: Path) -> bytes:
    path = Path(data_dir) / HASH_KEY_FILE
    with _key_lock:
        if str(path) in _keys:
            return _keys[str(path)]
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(secrets.token_hex(32))
        key = bytes.fromhex(path.read_text().strip())
        _keys[str(path)] = key
        return key


def text_hash(settings, text: str) -> str:
    """HMAC-SHA256 of the text with the installation's secret key (hex)."""
    data = text.encode("utf-8", "surrogatepass")
    return hmac.new(_hash_key(settings.data_dir), data, hashlib.sha256).hexdigest()


# ----------------------------------------------------------------------------- cache

class TTLCache:
    """Thread-safe in-process cache with a time to live and a size bound (least recently used goes first)."""

    backend = "memory"

    def __init__(self, ttl: float = CACHE_TTL_SECONDS, max_entries: int = CACHE_MAX_ENTRIES, clock=time.monotonic):
        self.ttl, self.max_entries, self._clock = float(ttl), int(max_entries), clock
        self._data: OrderedDict[str, tuple[float, dict]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> dict | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            expires, value = item
            if expires <= self._clock():
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return json.loads(value)

    def set(self, key: str, value: dict) -> None:
        # Stored as JSON so a caller mutating its copy cannot change the cached one (same as Redis).
        blob = json.dumps(value)
        with self._lock:
            self._data[key] = (self._clock() + self.ttl, blob)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class RedisCache:
    """The same interface over Redis (SETEX); a Redis outage degrades to cache misses, never to errors."""

    backend = "redis"

    def __init__(self, url: str, ttl: float = CACHE_TTL_SECONDS, prefix: str = "mhdash:", client=None):
        import redis

        self.ttl, self.prefix = int(ttl), prefix
        self.client = client or redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.errors = 0

    def get(self, key: str) -> dict | None:
        import redis

        try:
            raw = self.client.get(self.prefix + key)
        except redis.RedisError:
            self.errors += 1
            return None
        return json.loads(raw) if raw is not None else None

    def set(self, key: str, value: dict) -> None:
        import redis

        try:
            self.client.setex(self.prefix + key, self.ttl, json.dumps(value))
        except redis.RedisError:
            self.errors += 1

    def clear(self) -> None:
        import redis

        with contextlib.suppress(redis.RedisError):
            for k in self.client.scan_iter(self.prefix + "*"):
                self.client.delete(k)

    def ping(self) -> bool:
        import redis

        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False


def make_cache(redis_url: str = "", ttl: float = CACHE_TTL_SECONDS):
    """RedisCache when ``redis_url`` is given (ConfigError when it does not answer), else TTLCache."""
    if not redis_url:
        return TTLCache(ttl)
    cache = RedisCache(redis_url, ttl)
    if not cache.ping():
        raise ConfigError(f"REDIS_URL is set but Redis at {_redact(redis_url)} does not answer")
    return cache


def _redact(url: str) -> str:
    return re.sub(r"//[^@/]*@", "//***@", url)


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
    from core.storage import serving as sql

    return sql.insert_predictions(store, rows)


# ----------------------------------------------------------------------------- canary

@dataclass(frozen=True)
class Canary:
    version: str
    share: float = DEFAULT_CANARY_SHARE
    set_at: str = ""


def read_canary(heads_dir: Path) -> Canary | None:
    path = Path(heads_dir) / CANARY_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Canary(str(data["version"]), float(data["share"]), str(data.get("set_at", "")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is unreadable ({exc}); fix it or run `python -m core canary clear`") from exc


def set_canary(heads_dir: Path, version: str, share: float = DEFAULT_CANARY_SHARE) -> Canary:
    """Send ``share`` of texts to heads ``version``; it must exist and differ from the one LATEST names."""
    from core.models import registry as model_registry

    if not (0.0 < float(share) <= 1.0) or math.isnan(float(share)):
        raise ValidationError("The canary share must be above 0 and at most 1 (e.g. 0.1 for 10%)")
    version = model_registry.resolve_version(heads_dir, version)
    if version == model_registry.latest(heads_dir):
        raise ValidationError(f"{version} is already the serving version (LATEST); pick a candidate")
    canary = Canary(version, float(share), datetime.now(UTC).isoformat(timespec="seconds"))
    path = Path(heads_dir) / CANARY_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(canary.__dict__) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return canary


def clear_canary(heads_dir: Path) -> Canary | None:
    """Stop the canary (the roll-back of a candidate); returns the one that was set."""
    previous = read_canary(heads_dir)
    with contextlib.suppress(FileNotFoundError):
        (Path(heads_dir) / CANARY_FILE).unlink()
    return previous


def promote_canary(heads_dir: Path, *, force: bool = False) -> str:
    """Make the candidate the serving version (LATEST, through the registry's gate) and end the canary."""
    from core.models import registry as model_registry

    canary = read_canary(heads_dir)
    if canary is None:
        raise NotFound("No canary is set; set one with `python -m core canary set VERSION`")
    model_registry.promote(heads_dir, canary.version, force=force, reason=f"canary promoted ({canary.share:g})")
    clear_canary(heads_dir)
    return canary.version


def route(stable: str, canary: Canary | None, key: str) -> str:
    """The version that serves ``key`` (a text hash): the candidate for about ``share`` of keys."""
    if canary is None or canary.version == stable:
        return stable
    bucket = int(key[:8], 16) / 0x1_0000_0000
    return canary.version if bucket < canary.share else stable


# ----------------------------------------------------------------------------- drift

_SINCE_RE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(since: str | datetime, now: datetime | None = None) -> datetime:
    """'30d', '12h', '2w', '90m' or an ISO date/time -> an aware UTC datetime."""
    if isinstance(since, datetime):
        return since if since.tzinfo else since.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    m = _SINCE_RE.match(str(since))
    if m:
        return now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    try:
        when = datetime.fromisoformat(str(since).strip())
    except ValueError as exc:
        raise ValidationError(f"--since {since!r}: use 30d, 12h, 2w, 90m or an ISO date like 2025-01-31") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def psi(reference, recent, bins: int = 10, eps: float = 1e-4) -> float:
    """Population stability index of ``recent`` against ``reference``, on the reference's quantile bins."""
    import numpy as np

    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(recent, dtype=float)
    if ref.size == 0 or cur.size == 0:
        return float("nan")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    ref_share = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1) / ref.size
    cur_share = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1) / cur.size
    ref_share, cur_share = np.clip(ref_share, eps, None), np.clip(cur_share, eps, None)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def ks(reference, recent) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov (statistic, p-value)."""
    from scipy.stats import ks_2samp

    if len(reference) == 0 or len(recent) == 0:
        return float("nan"), float("nan")
    res = ks_2samp(reference, recent)
    return float(res.statistic), float(res.pvalue)


def save_reference(version_dir: Path, values: dict[str, list[float]], source: str) -> Path:
    """Write ``reference.json`` into a heads version folder: per head, a sorted sample of its values."""
    import numpy as np

    rng = np.random.default_rng(0)
    heads = {}
    for name, vals in values.items():
        arr = np.asarray(vals, dtype=float)
        arr = arr[np.isfinite(arr)]
        if arr.size > REFERENCE_SAMPLE:
            arr = rng.choice(arr, REFERENCE_SAMPLE, replace=False)
        heads[name] = sorted(round(float(v), 6) for v in arr)
    if not heads or not any(heads.values()):
        raise ValidationError("A reference distribution needs values for at least one head")
    path = Path(version_dir) / REFERENCE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"created_at": datetime.now(UTC).isoformat(timespec="seconds"), "source": source,
                               "n": max(len(v) for v in heads.values()), "heads": heads}), encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_reference(heads_dir: Path, version: str) -> dict | None:
    path = Path(heads_dir) / version / REFERENCE_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"{path} is unreadable: {exc}") from exc


def build_reference(settings, version: str | None = None, *, texts: list[str] | None = None, n: int = 400,
                    seed: int = 12345, encoder=None) -> Path:
    """Score a reference corpus with a heads version and save it as that version's reference.

    Default corpus: ``n`` texts from the project's seeded synthetic session generator
    (a seed the training split does not use), the same texts for every version.
    """
    from core.models import registry as model_registry

    version = model_registry.resolve_version(settings.heads_dir, version or settings.heads_version)
    source = "given texts"
    if texts is None:
        from core.synthetic.sessions import generate

        texts = generate(n=n, seed=seed)["text"].tolist()
        source = f"synthetic sessions (data/sessions.py), n={n}, seed={seed}"
    if encoder is None or encoder.version != version:
        from core.models.encoder import load_encoder

        encoder = load_encoder(settings.replace(heads_version=version))
    from core.models.encoder import score_texts

    results = score_texts(encoder, texts)
    values: dict[str, list[float]] = {}
    for r in results:
        for name, h in r["heads"].items():
            values.setdefault(name, []).append(h["value"])
    return save_reference(Path(settings.heads_dir) / version, values, source)


def _status(p: float, pvalue: float, n_recent: int) -> str:
    if n_recent < MIN_RECENT:
        return "too few predictions"
    if not math.isfinite(p):
        return "no reference"
    if p >= PSI_MAJOR:
        return "major shift"
    if p >= PSI_MODERATE or (math.isfinite(pvalue) and pvalue < KS_ALPHA):
        return "moderate shift"
    return "stable"


def drift_report(settings, since: str | datetime = "30d", *, store=None, version: str | None = None):
    """Per heads version and head: recent (logged) values vs the version's reference. A pandas DataFrame.

    Columns: version, head, n_reference, n_recent, recent_mean, reference_mean, psi, ks_stat, ks_pvalue, status.
    ``version`` limits the report to one version; by default every version that served since ``since``.
    Versions without a saved reference get rows with status "no reference".
    """
    import numpy as np
    import pandas as pd

    from core.models.heads import HEAD_NAMES
    from core.storage import open_store
    from core.storage import serving as sql

    start = parse_since(since)
    own = store is None
    store = store or open_store(settings.database, key=settings.database_key)
    try:
        rows = sql.predictions_since(store, start.isoformat(timespec="microseconds"),
                                     endpoints=PREDICT_ENDPOINTS, model_version=version)
    finally:
        if own:
            store.close()
    by_version: dict[str, dict[str, list[float]]] = {}
    seen: dict[str, set] = {}
    for r in rows:
        # A text scored twice (cache hits, retries) counts once: drift is about the texts, not the traffic.
        if r["text_hash"] in seen.setdefault(r["model_version"], set()):
            continue
        seen[r["model_version"]].add(r["text_hash"])
        for name, h in r["outputs"].get("heads", {}).items():
            by_version.setdefault(r["model_version"], {}).setdefault(name, []).append(h["value"])
    if version is not None:
        by_version.setdefault(version, {})
    out = []
    for v in sorted(by_version):
        ref = load_reference(settings.heads_dir, v) or {}
        ref_heads = ref.get("heads", {})
        for name in HEAD_NAMES:
            recent = by_version[v].get(name, [])
            reference = ref_heads.get(name, [])
            p = psi(reference, recent) if reference and recent else float("nan")
            stat, pvalue = ks(reference, recent) if reference and recent else (float("nan"), float("nan"))
            status = "no reference" if not reference else _status(p, pvalue, len(recent))
            out.append({"version": v, "head": name, "n_reference": len(reference), "n_recent": len(recent),
                        "recent_mean": float(np.mean(recent)) if recent else float("nan"),
                        "reference_mean": float(np.mean(reference)) if reference else float("nan"),
                        "psi": p, "ks_stat": stat, "ks_pvalue": pvalue, "status": status})
    columns = ["version", "head", "n_reference", "n_recent", "recent_mean", "reference_mean", "psi", "ks_stat",
               "ks_pvalue", "status"]
    df = pd.DataFrame(out, columns=columns)
    df.attrs["since"] = start.isoformat(timespec="seconds")
    return df


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
        from core.storage import open_store

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
        from core.models import registry as model_registry

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
        from core.llm.tasks import get_task

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
                    from core.llm.labelled_answers import answer

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
        from core.errors import TaskHeadsUnavailable
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
            from core.backends import complete
        llm = self.llm()
        out = []
        with self.llm_lock:
            for p in prompts:
                out.append(complete(llm, p, **kwargs))
        return out

    def health(self) -> dict:
        """Status and loaded model versions; nothing about any text or patient."""
        from core.errors import NoTrainedHeads

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
