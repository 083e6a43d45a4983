"""Outputs of repeated texts, cached under a keyed hash of the text (never the text).

Outputs of repeated texts are kept for ``CACHE_TTL_SECONDS`` (1 h)
in process, or in Redis when ``REDIS_URL`` is set (several API workers then
share it). Keys hold the model version and a keyed hash of the text, never
the text, so a Redis dump reveals nothing and a new version never serves an
old answer.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from pathlib import Path

from core.errors import ConfigError

CACHE_TTL_SECONDS = 3600
CACHE_MAX_ENTRIES = 10_000
HASH_KEY_FILE = "serving-hash.key"


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


