"""Loading a model in the background at start-up, so the first click does not wait on an unannounced load.

A ``Warmup`` runs one loader in a daemon thread and says where it stands: not started, loading (with the seconds
so far and, once one load has been measured on this machine, how long the last one took), ready, or failed (with
the loader's own message). Every completed load writes its time to a small file under the cache folder; that
measurement, never a constant, is what a page shows as the expected time.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core import backends
from core.errors import CoreError, ModelUnavailable

LLM_LOAD_FILE = "llm_load_seconds.json"


_prepare_lock = threading.Lock()
_prepared = False


def model_library_imports() -> None:
    """Import the model libraries' entry points once per process, one thread at a time.

    transformers resolves its classes lazily on first use; two threads resolving them at the same moment (the
    warm-up loading the language model while a page loads the encoder) can fail with "cannot import name
    'AutoModel' from 'transformers'". Every model load in the dashboard goes through here first."""
    global _prepared
    if _prepared:
        return
    with _prepare_lock:
        if not _prepared:
            import torch  # noqa: F401
            from transformers import (  # noqa: F401
                AutoConfig,
                AutoModel,
                AutoModelForCausalLM,
                AutoModelForSequenceClassification,
                AutoTokenizer,
            )

            _prepared = True


class Warmup:
    """One model loading in a background thread (``start``), awaited with ``wait``."""

    def __init__(self, name: str, load: Callable[[], Any], record: Path | None = None):
        self.name = name
        self._load = load
        self._record = Path(record) if record else None
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._started: float | None = None
        self._finished: float | None = None
        self.value: Any = None
        self.error: CoreError | None = None

    # -- state
    @property
    def state(self) -> str:
        if self._thread is None:
            return "not started"
        if not self._done.is_set():
            return "loading"
        return "failed" if self.error is not None else "ready"

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def elapsed(self) -> float:
        """Seconds spent loading so far (or in all, once finished); 0 before the start."""
        if self._started is None:
            return 0.0
        return (self._finished or time.monotonic()) - self._started

    def expected(self) -> float | None:
        """How long the last completed load took on this machine (seconds), or None before any was measured."""
        if self._record is None or not self._record.exists():
            return None
        try:
            return float(json.loads(self._record.read_text(encoding="utf-8"))["seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def progress(self) -> float | None:
        """A fraction for a progress bar: time so far over the last measured load time (held below 1 until the
        load really ends), 1.0 when ready; None when nothing has been measured yet."""
        if self.state == "ready":
            return 1.0
        expected = self.expected()
        if not expected:
            return None
        return min(self.elapsed() / expected, 0.95)

    def describe(self) -> str:
        """One sentence for a page."""
        state = self.state
        if state == "ready":
            return f"The {self.name} is ready (loaded in {self.elapsed():.0f} s)."
        if state == "failed":
            return f"The {self.name} could not be loaded: {self.error}"
        if state == "not started":
            return f"The {self.name} has not started loading."
        expected = self.expected()
        return (f"The {self.name} is warming up in the background: {self.elapsed():.0f} s so far"
                + (f" (the last start on this machine took {expected:.0f} s)." if expected else
                   " (the first start on this machine also converts its weights once).")
                + " You can keep working; anything that needs it waits for it and says so.")

    # -- running
    def start(self) -> Warmup:
        """Start loading (once; later calls do nothing)."""
        with self._lock:
            if self._thread is None:
                self._started = time.monotonic()
                self._thread = threading.Thread(target=self._run, name=f"warmup-{self.name}", daemon=True)
                self._thread.start()
        return self

    def _run(self) -> None:
        try:
            model_library_imports()
            self.value = self._load()
        except CoreError as exc:
            self.error = exc
        except Exception as exc:  # a library error while loading: reported as the model being unavailable
            self.error = ModelUnavailable(f"{type(exc).__name__}: {exc}")
        finally:
            self._finished = time.monotonic()
            if self.error is None:
                self._write_record()
            self._done.set()

    def _write_record(self) -> None:
        if self._record is None:
            return
        try:
            self._record.parent.mkdir(parents=True, exist_ok=True)
            self._record.write_text(json.dumps({"seconds": round(self.elapsed(), 2),
                                                "measured_at": datetime.now(UTC).isoformat(timespec="seconds")}),
                                    encoding="utf-8")
        except OSError:
            pass  # a read-only cache folder only costs the next start its expected time

    def finished(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for the load to end (ready or failed); True when it has."""
        return self._done.wait(timeout)

    def wait(self, timeout: float | None = None):
        """The loaded model (starting the load if nobody did); raises the loader's error when it failed, and
        ModelUnavailable when ``timeout`` passes first."""
        self.start()
        if not self._done.wait(timeout):
            raise ModelUnavailable(f"The {self.name} is still loading ({self.elapsed():.0f} s so far).")
        if self.error is not None:
            raise self.error
        return self.value


def llm_warmup(settings) -> Warmup:
    """A (not yet started) warm-up of the configured language model through ``core.backends.load_llm``."""

    return Warmup("language model", lambda: backends.load_llm(settings), Path(settings.cache_dir) / LLM_LOAD_FILE)
