"""core.serving without models: caches (in-process and a real redis-server), token rules, text hash,
prediction log, canary routing, PSI/KS and the drift report."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from core import serving
from core.errors import ConfigError, NotFound, ValidationError

# ----------------------------------------------------------------------------- token and hash

@pytest.mark.parametrize("token", ["", "   ", "changeme", "placeholder", "change_me_later_ok_now", "tooshort"])
def test_placeholder_tokens_are_refused(settings, token):
    with pytest.raises(ConfigError):
        serving.require_api_token(settings.replace(api_token=token))


def test_a_long_random_token_is_accepted(settings):
    assert serving.require_api_token(settings.replace(api_token="Zq8-" * 8)) == "Zq8-" * 8


def test_text_hash_is_keyed_stable_and_private(settings, tmp_path):
    import hashlib

    h = serving.text_hash(settings, "hello")
    assert h == serving.text_hash(settings, "hello") != serving.text_hash(settings, "hello!")
    assert h != hashlib.sha256(b"hello").hexdigest()  # not guessable by hashing candidate texts
    key = settings.data_dir / serving.HASH_KEY_FILE
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    other = settings.replace(data_dir=tmp_path / "other")
    assert serving.text_hash(other, "hello") != h  # another installation, another key


# ----------------------------------------------------------------------------- in-process cache

def test_ttl_cache_expires_and_bounds_its_size():
    now = [0.0]
    cache = serving.TTLCache(ttl=10, max_entries=2, clock=lambda: now[0])
    cache.set("a", {"v": 1})
    value = cache.get("a")
    value["v"] = 99  # a caller's copy cannot change the cached value
    assert cache.get("a") == {"v": 1}
    now[0] = 10.5
    assert cache.get("a") is None
    cache.set("a", {"v": 1})
    cache.set("b", {"v": 2})
    cache.get("a")
    cache.set("c", {"v": 3})  # evicts b, the least recently used
    assert cache.get("b") is None and cache.get("a") == {"v": 1} and len(cache) == 2


def test_default_cache_is_in_process_with_one_hour_ttl():
    cache = serving.make_cache("")
    assert isinstance(cache, serving.TTLCache) and cache.ttl == 3600


# ----------------------------------------------------------------------------- Redis (a real server)

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("MHD_REQUIRE_REDIS") == "1":
            pytest.fail("MHD_REQUIRE_REDIS=1 but redis-server is not installed (apt-get install redis-server)")
        pytest.skip("redis-server is not installed (apt-get install redis-server); Redis cache tests skipped")
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("redis-server did not start")
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


def test_redis_cache_round_trip_ttl_and_no_text(redis_url):
    cache = serving.make_cache(redis_url, ttl=1)
    assert isinstance(cache, serving.RedisCache)
    cache.clear()
    cache.set("heads:v1:abc", {"heads": {"trauma": {"value": 1.5}}})
    assert cache.get("heads:v1:abc") == {"heads": {"trauma": {"value": 1.5}}}
    assert cache.client.ttl("mhdash:heads:v1:abc") in (0, 1)
    time.sleep(1.2)
    assert cache.get("heads:v1:abc") is None
    assert cache.get("missing") is None


def test_server_shares_outputs_through_redis(redis_url, settings):
    """Two API workers (two ModelServers) share the Redis cache: the second one does not score again."""
    from tests.test_api_fuzz import FakeEncoder, fake_scores

    heads_dir = settings.data_dir.parent / "heads"
    (heads_dir / "v20250101_000000").mkdir(parents=True)
    (heads_dir / "v20250101_000000" / "config.json").write_text("{}")
    (heads_dir / "LATEST").write_text("v20250101_000000\n")
    s = settings.replace(heads_dir=heads_dir)
    calls = []

    def scorer(enc, texts, progress=None):
        calls.append(len(texts))
        return fake_scores(enc, texts)

    a = serving.ModelServer(s, cache=serving.make_cache(redis_url), load_encoder=lambda st: FakeEncoder("x"),
                            score_texts=scorer)
    b = serving.ModelServer(s, cache=serving.make_cache(redis_url), load_encoder=lambda st: FakeEncoder("x"),
                            score_texts=scorer)
    a.cache.clear()
    first = a.predict(["shared text", "other text"], endpoint="predict_batch")
    second = b.predict(["shared text", "other text"], endpoint="predict_batch")
    assert calls == [2] and all(r["cached"] for r in second)
    assert [r["heads"] for r in first] == [r["heads"] for r in second]
    keys = [k.decode() for k in a.cache.client.keys("mhdash:*")]
    assert keys and not any("shared" in k or "text" in k for k in keys)


def test_unreachable_redis_is_a_config_error():
    with pytest.raises(ConfigError, match="does not answer"):
        serving.make_cache(f"redis://user:secret@127.0.0.1:{_free_port()}/0")


def test_redis_outage_degrades_to_misses():
    cache = serving.RedisCache(f"redis://127.0.0.1:{_free_port()}/0")
    cache.set("k", {"v": 1})
    assert cache.get("k") is None and cache.errors == 2


# ----------------------------------------------------------------------------- prediction log

def test_prediction_rows_keep_scores_and_hash_only(settings, store):
    from core.storage import serving as sql

    results = [{"heads": {"trauma": {"value": 2.0, "std": 0.1, "low": 1.0, "high": 3.0}}, "windows": 1,
                "tokens": 5, "model_version": "v1"}]
    rows = serving.prediction_rows(settings, "predict", ["My name is John Smith"], results, 12.5, "emr")
    assert "John" not in json.dumps(rows)
    serving.log_predictions(store, rows)
    logged = sql.predictions_since(store, "2000-01-01")
    assert logged[0]["outputs"]["heads"]["trauma"] == {"value": 2.0, "std": 0.1}
    assert logged[0]["caller"] == "emr" and logged[0]["latency_ms"] == 12.5


# ----------------------------------------------------------------------------- canary

def _versions(heads_dir, *names):
    for n in names:
        (heads_dir / n).mkdir(parents=True)
        (heads_dir / n / "config.json").write_text("{}")
    (heads_dir / "LATEST").write_text(names[0] + "\n")


def test_canary_file_round_trip_and_validation(tmp_path):
    _versions(tmp_path, "v20250101_000000", "v20250102_000000")
    assert serving.read_canary(tmp_path) is None
    c = serving.set_canary(tmp_path, "v20250102_000000")
    assert c.share == serving.DEFAULT_CANARY_SHARE == 0.1
    assert serving.read_canary(tmp_path).version == "v20250102_000000"
    for share in (0, -0.1, 1.01, float("nan")):
        with pytest.raises(ValidationError):
            serving.set_canary(tmp_path, "v20250102_000000", share)
    with pytest.raises(ValidationError, match="already the serving"):
        serving.set_canary(tmp_path, "v20250101_000000")
    assert serving.clear_canary(tmp_path).version == "v20250102_000000"
    assert serving.clear_canary(tmp_path) is None
    with pytest.raises(NotFound):
        serving.promote_canary(tmp_path)
    (tmp_path / serving.CANARY_FILE).write_text("{broken")
    with pytest.raises(ConfigError, match="canary clear"):
        serving.read_canary(tmp_path)


def test_route_sends_about_the_share_and_is_sticky():
    import hashlib

    canary = serving.Canary("cand", 0.1)
    keys = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(5000)]
    picks = [serving.route("stable", canary, k) for k in keys]
    assert 0.08 < picks.count("cand") / len(picks) < 0.12
    assert picks == [serving.route("stable", canary, k) for k in keys]
    assert serving.route("stable", None, keys[0]) == "stable"


# ----------------------------------------------------------------------------- drift

def test_psi_and_ks_on_known_distributions():
    rng = np.random.default_rng(0)
    ref = rng.normal(0, 1, 5000)
    same = rng.normal(0, 1, 2000)
    shifted = rng.normal(1, 1, 2000)
    assert serving.psi(ref, same) < 0.02
    assert serving.psi(ref, shifted) > 0.25
    assert serving.ks(ref, same)[1] > 0.01
    stat, p = serving.ks(ref, shifted)
    assert stat > 0.3 and p < 1e-10
    assert np.isnan(serving.psi([], same))


@pytest.mark.parametrize("since,delta", [("30d", timedelta(days=30)), ("12h", timedelta(hours=12)),
                                         ("2w", timedelta(weeks=2)), ("90m", timedelta(minutes=90))])
def test_parse_since(since, delta):
    now = datetime(2025, 6, 1, tzinfo=UTC)
    assert serving.parse_since(since, now) == now - delta


def test_parse_since_dates_and_errors():
    assert serving.parse_since("2025-01-31") == datetime(2025, 1, 31, tzinfo=UTC)
    with pytest.raises(ValidationError, match="30d"):
        serving.parse_since("last month")


def test_drift_report_flags_a_shifted_head(settings, store, tmp_path):
    from core.models.heads import HEAD_NAMES

    heads_dir = tmp_path / "heads"
    settings = settings.replace(heads_dir=heads_dir)
    _versions(heads_dir, "v20250101_000000")
    rng = np.random.default_rng(1)
    serving.save_reference(heads_dir / "v20250101_000000",
                           {n: rng.normal(0.5, 0.1, 3000).tolist() for n in HEAD_NAMES}, "test")
    assert len(serving.load_reference(heads_dir, "v20250101_000000")["heads"]["trauma"]) == serving.REFERENCE_SAMPLE
    rows = []
    for i in range(200):
        heads = {n: {"value": float(rng.normal(0.5, 0.1)), "std": 0.0} for n in HEAD_NAMES}
        heads["trauma"]["value"] = float(rng.normal(0.9, 0.1))  # this head moved
        rows.append({"endpoint": "predict", "text_hash": f"{i:064x}", "model_version": "v20250101_000000",
                     "outputs": {"heads": heads}, "latency_ms": 1.0, "caller": "t"})
    rows.append({**rows[0]})  # a repeated text counts once
    rows.append({"endpoint": "predict", "text_hash": "f" * 64, "model_version": "v20250102_000000",
                 "outputs": {"heads": rows[0]["outputs"]["heads"]}, "latency_ms": 1.0, "caller": "t"})
    old = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    rows.append({**rows[1], "text_hash": "e" * 64, "ts": old})  # outside the window
    serving.log_predictions(store, rows)
    df = serving.drift_report(settings, "30d", store=store)
    v1 = df[df.version == "v20250101_000000"].set_index("head")
    assert (v1["n_recent"] == 200).all()
    assert v1.loc["trauma", "status"] == "major shift" and v1.loc["trauma", "psi"] > 0.25
    assert (v1.drop("trauma")["status"] == "stable").all()
    v2 = df[df.version == "v20250102_000000"]
    assert (v2["status"] == "no reference").all()
    few = serving.drift_report(settings, "30d", store=store, version="v20250101_000000")
    assert set(few.version) == {"v20250101_000000"}
    assert serving.drift_report(settings, "30d", store=store, version="v20990101_000000")["n_recent"].eq(0).all()
