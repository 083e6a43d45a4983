"""The one background worker of a server process: it drains the rationale queue of each database, one job at a
time (``rationale_queue.run_next``), in a daemon thread.

On start it recovers jobs a stopped worker left running. Between jobs it sleeps until ``wake`` (a job was just
queued in this process) or ``poll_seconds`` pass (a job queued by another process).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from core.clinical import rationale_queue
from core.clinical.rationale_queue import Models
from core.storage import Store

log = logging.getLogger(__name__)


class RationaleWorker:
    def __init__(self, settings, stores: list[tuple[Store, bool]], models: Callable[[], Models], *,
                 accounts: Store | None = None, poll_seconds: float = 2.0):
        """``stores``: (database, is the demo database) pairs; ``accounts``: the database holding the accounts
        (default: the first store)."""
        self.settings = settings
        self.stores = stores
        self.models = models
        self.accounts = accounts or stores[0][0]
        self.poll_seconds = poll_seconds
        self.id = rationale_queue.worker_id()
        self.recovered: list[tuple[int, str]] = []
        self.last_error = ""
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> RationaleWorker:
        if self._thread is None:
            for store, _ in self.stores:
                self.recovered += rationale_queue.recover(store, self.id)
            self._thread = threading.Thread(target=self._loop, name="rationale-worker", daemon=True)
            self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float | None = None) -> None:
        """Stop: a running job finishes its current item, and the rest waits in the queue for the next worker."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_once(self) -> bool:
        """One pass over the databases: runs at most one job from each; True when a job ran."""
        worked = False
        for store, demo in self.stores:
            if self._stop.is_set():
                break
            try:
                worked |= rationale_queue.run_next(store, self.id, self.models, settings=self.settings,
                                                   accounts=self.accounts, demo=demo,
                                                   stopping=self._stop.is_set) is not None
            except Exception as exc:  # the database was busy or gone: the worker lives on and retries
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("rationale worker pass failed")
        return worked

    def _loop(self) -> None:
        while not self._stop.is_set():
            if not self.run_once():
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
