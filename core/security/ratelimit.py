"""A sliding-window rate limiter, in memory, shared by the threads of one process.

Used for logins (per client address) and by the API (per client address, with a
stricter budget for requests with a wrong token). ``hit`` records an attempt and
returns 0 when it is allowed, else the whole seconds to wait (for ``Retry-After``).
The number of keys is bounded, so a flood of distinct addresses cannot grow it
without limit.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque


class RateLimiter:
    def __init__(self, limit: int, window_seconds: float = 60.0, max_keys: int = 50_000, clock=time.monotonic):
        self.limit = max(1, int(limit))
        self.window = float(window_seconds)
        self.max_keys = int(max_keys)
        self._clock = clock
        self._hits: OrderedDict[str, deque] = OrderedDict()
        self._lock = threading.Lock()

    def _trim(self, q: deque, now: float) -> None:
        while q and q[0] <= now - self.window:
            q.popleft()

    def retry_after(self, key: str) -> int:
        """Seconds until ``key`` may try again (0: now), without counting an attempt."""
        with self._lock:
            q = self._hits.get(key)
            if not q:
                return 0
            now = self._clock()
            self._trim(q, now)
            if len(q) < self.limit:
                return 0
            return max(1, math.ceil(q[0] + self.window - now))

    def hit(self, key: str) -> int:
        """Count one attempt for ``key``: 0 when allowed, else seconds to wait (the attempt is not counted)."""
        with self._lock:
            now = self._clock()
            q = self._hits.get(key)
            if q is None:
                q = self._hits[key] = deque()
                while len(self._hits) > self.max_keys:
                    self._hits.popitem(last=False)
            else:
                self._hits.move_to_end(key)
            self._trim(q, now)
            if len(q) >= self.limit:
                return max(1, math.ceil(q[0] + self.window - now))
            q.append(now)
            return 0


_login_limiters: dict[int, RateLimiter] = {}
_login_lock = threading.Lock()


def login_limiter(per_minute: int) -> RateLimiter:
    """The process-wide limiter of login attempts for a given budget."""
    with _login_lock:
        limiter = _login_limiters.get(per_minute)
        if limiter is None:
            limiter = _login_limiters[per_minute] = RateLimiter(per_minute, 60.0)
        return limiter
