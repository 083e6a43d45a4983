"""The HTTP API with the real embedded models: every endpoint, its errors, cache, log, metrics, canary.

The encoder is the embedded all-MiniLM-L6-v2 with heads checkpoints written once per
session (seeded, untrained heads: the API's job is plumbing, not accuracy); the LLM
is the embedded SmolLM2 (with the shipped adapter when present), loaded once.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "test-token-" + "k" * 24
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SHIPPED_ADAPTER = ROOT / "data" / "models" / "lora-smollm2-imhi"


# ----------------------------------------------------------------------------- shared models (one per session)

def write_heads_version(heads_dir: Path, seed: int) -> str:
    """A complete heads version folder on the embedded backbone, heads initialised from ``seed``."""
    import torch

    from core.hardware import resolve_encoder_source
    from core.models import registry as model_registry
    from core.models.checkpoint import MultiTaskModel, backbone_fingerprint, head_spec_dict, load_backbone
    from core.models.heads import HEADS
    from core.models.training import _write_version
    from core.settings import EMBEDDED_ENCODER

    bb, tok = load_backbone(resolve_encoder_source(EMBEDDED_ENCODER))
    torch.manual_seed(seed)
    model = MultiTaskModel(bb, HEADS, dropout=0.1, pooling="cls")
    heads_dir.mkdir(parents=True, exist_ok=True)
    version = model_registry.new_version_name(heads_dir)
    _write_version(heads_dir / version, model, tok, True, {
        "backbone_id": EMBEDDED_ENCODER, "backbone_fingerprint": backbone_fingerprint(bb), "pooling": "cls",
        "dropout": 0.1, "max_length": 128, "heads": [head_spec_dict(h) for h in HEADS],
        "training_data": f"test fixture (seeded heads, seed {seed})",
    }, {"gate": {"passed": True, "reason": "test fixture"}})
    return version


@lru_cache(maxsize=1)
def heads_versions() -> tuple[Path, str, str]:
    """(heads_dir, stable, candidate); LATEST -> stable."""
    from core.models import registry as model_registry

    heads_dir = Path(tempfile.mkdtemp(prefix="mhd-api-heads-"))
    stable = write_heads_version(heads_dir, 0)
    candidate = write_heads_version(heads_dir, 1)
    model_registry.promote(heads_dir, stable)
    return heads_dir, stable, candidate


_encoders: dict = {}


def cached_load_encoder(settings):
    """The real core.models.encoder.load_encoder, memoised per version for the test session."""
    from core.models.encoder import load_encoder

    key = (str(settings.heads_dir), settings.heads_version)
    if key not in _encoders:
        _encoders[key] = load_encoder(settings)
    return _encoders[key]


@lru_cache(maxsize=1)
def real_llm():
    from core.llm.model import load_llm
    from core.settings import load_settings

    adapter = str(SHIPPED_ADAPTER) if SHIPPED_ADAPTER.exists() else ""
    return load_llm(load_settings(env={}, llm_adapter=adapter, device="cpu", max_new_tokens=8))


def api_settings(data_dir: Path, **overrides):
    from core.settings import load_settings

    heads_dir, _, _ = heads_versions()
    values = {"data_dir": data_dir, "heads_dir": heads_dir, "api_token": TOKEN, "device": "cpu",
              "max_new_tokens": 8, **overrides}
    return load_settings(env={}, **values)


def make_server(settings, **kwargs):
    from core.serving import ModelServer

    return ModelServer(settings, load_encoder=cached_load_encoder, load_llm=lambda s: real_llm(), **kwargs)


def sample_texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    who = ["my sister", "my manager", "nobody", "my old friends", "the neighbours", "my father"]
    feel = ["alone", "hopeful", "exhausted", "calm", "scared", "supported", "worthless", "better"]
    what = ["since the move", "after the accident", "at work", "most nights", "this week", "lately"]
    return [f"I feel {rng.choice(feel)} {rng.choice(what)}; {rng.choice(who)} called {i} times." for i in range(n)]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from api.main import create_app

    settings = api_settings(tmp_path_factory.mktemp("api") / "var")
    server = make_server(settings)
    app = create_app(settings, server=server)
    with TestClient(app) as client:
        yield client, settings, server


# ----------------------------------------------------------------------------- health, schema, auth

def test_health_is_open_and_names_versions_without_phi(env):
    client, settings, _ = env
    _, stable, _ = heads_versions()
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["encoder"]["version"] == stable and body["cache"] == "memory"
    assert set(body) == {"status", "encoder", "canary", "llm", "cache"}
    assert "text" not in r.text.lower().replace("context", "")


def test_openapi_schema_is_published_behind_the_token(env):
    client, _, _ = env
    assert client.get("/openapi.json").status_code == 401
    schema = client.get("/openapi.json", headers=AUTH).json()
    for path in ("/predict", "/predict_batch", "/analyze", "/health", "/metrics", "/v1/completions"):
        assert path in schema["paths"], path
    assert schema["paths"]["/predict_batch"]["post"]["requestBody"]
    assert client.get("/docs").status_code == 401
    assert client.get("/docs", headers=AUTH).status_code == 404  # off unless api_docs is set


@pytest.mark.parametrize("method,path,body", [
    ("post", "/predict", {"text": "hello"}), ("post", "/predict_batch", {"texts": ["hello"]}),
    ("post", "/analyze", {"text": "hello", "task": "depression"}), ("get", "/metrics", None),
    ("post", "/v1/completions", {"prompt": "hi"}), ("get", "/v1/models", None), ("get", "/tasks", None),
])
def test_every_model_endpoint_needs_the_token(env, method, path, body):
    client, _, _ = env
    kwargs = {"json": body} if body is not None else {}
    r = getattr(client, method)(path, **kwargs)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = getattr(client, method)(path, headers={"Authorization": "Bearer wrong-token-wrong-token"}, **kwargs)
    assert r.status_code == 401


@pytest.mark.parametrize("token", ["", "changeme", "CHANGE-ME-please-now", "short-token"])
def test_refuses_to_start_with_an_empty_or_placeholder_token(tmp_path, token):
    from api.main import create_app
    from core.errors import ConfigError

    settings = api_settings(tmp_path / "var", api_token=token)
    with pytest.raises(ConfigError, match="api_token"):
        create_app(settings, server=object())


def test_serve_command_refuses_a_placeholder_token(tmp_path, monkeypatch, capsys):
    from core.cli import main

    monkeypatch.setenv("MHD_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("MHD_API_TOKEN", "changeme")
    assert main(["serve", "--port", "1"]) == 2
    assert "placeholder" in capsys.readouterr().err


# ----------------------------------------------------------------------------- /predict

def test_predict_scores_five_heads_with_uncertainty_like_in_process(env):
    from core.models.encoder import score_texts
    from core.models.heads import HEADS

    client, settings, _ = env
    _, stable, _ = heads_versions()
    text = "I have felt very alone since my divorce, and my brother no longer calls."
    r = client.post("/predict", json={"text": text}, headers=AUTH)
    assert r.status_code == 200
    body = r.json()
    assert body["model_version"] == stable and body["canary"] is False and body["cached"] is False
    assert set(body["heads"]) == {h.name for h in HEADS}
    for spec in HEADS:
        h = body["heads"][spec.name]
        assert spec.low <= h["low"] <= h["value"] <= h["high"] <= spec.high and h["std"] >= 0
    local = score_texts(cached_load_encoder(settings.replace(heads_version=stable)), [text])[0]
    for name, h in local["heads"].items():
        assert body["heads"][name]["value"] == pytest.approx(h["value"], abs=1e-6)


def test_batch_keeps_order_and_takes_up_to_32(env):
    client, _, _ = env
    texts = sample_texts(32, seed=1)
    r = client.post("/predict_batch", json={"texts": texts}, headers=AUTH)
    assert r.status_code == 200
    results = r.json()["results"]
    assert len(results) == 32
    singles = [client.post("/predict", json={"text": t}, headers=AUTH).json() for t in texts[:3]]
    for one, batch in zip(singles, results[:3]):
        assert one["heads"]["trauma"]["value"] == pytest.approx(batch["heads"]["trauma"]["value"], abs=1e-6)


@pytest.mark.parametrize("body,needle", [
    ({"texts": ["a text"] * 33}, "at most 32"),
    ({"texts": []}, "texts is empty"),
    ({"texts": ["fine", "   "]}, "text is empty"),
    ({"texts": "not a list"}, ""),
    ({}, ""),
    ({"texts": ["ok"], "extra": 1}, ""),
])
def test_batch_rejects_bad_bodies_with_422(env, body, needle):
    client, _, _ = env
    r = client.post("/predict_batch", json=body, headers=AUTH)
    assert r.status_code == 422
    assert needle in r.text
    assert "a text" not in r.text  # the input is not echoed back


@pytest.mark.parametrize("raw", ['{"text": ""}', '{"text": "  \\n"}', '{"text": 3}', '{}', '{"text": "\\ud800"}',
                                 '{"text": "x"', 'null'])
def test_predict_rejects_bad_bodies_with_422(env, raw):
    client, _, _ = env
    r = client.post("/predict", content=raw.encode(), headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 422


def test_repeated_text_comes_from_the_cache(env):
    client, _, server = env
    text = "Cache me: the same words twice."
    first = client.post("/predict", json={"text": text}, headers=AUTH).json()
    hits = server.counters.get("cache_hit", 0)
    second = client.post("/predict", json={"text": text}, headers=AUTH).json()
    assert first["cached"] is False and second["cached"] is True
    assert second["heads"] == first["heads"]
    assert server.counters["cache_hit"] == hits + 1


def test_prediction_log_has_hash_scores_version_caller_and_no_text(env):
    from core.storage import serving as sql

    client, settings, server = env
    secret = "Jane Roe of 12 Elm Street told me she cannot cope"
    r = client.post("/predict", json={"text": secret}, headers={**AUTH, "X-Caller": "emr-system"})
    assert r.status_code == 200
    rows = sql.predictions_since(server.store, "2000-01-01")
    row = [x for x in rows if x["caller"] == "emr-system"][-1]
    assert len(row["text_hash"]) == 64 and row["model_version"] == r.json()["model_version"]
    assert row["outputs"]["heads"]["trauma"]["value"] == pytest.approx(r.json()["heads"]["trauma"]["value"], abs=1e-5)
    assert row["latency_ms"] > 0
    server.store.db.conn.execute("PRAGMA wal_checkpoint(FULL)")
    for path in settings.database.parent.glob("mhdash.db*"):
        data = path.read_bytes()
        assert b"Jane Roe" not in data and b"Elm Street" not in data


def test_no_trained_heads_is_503_with_the_fix(tmp_path):
    from api.main import create_app

    settings = api_settings(tmp_path / "var", heads_dir=tmp_path / "empty-heads")
    with TestClient(create_app(settings, server=make_server(settings))) as client:
        r = client.post("/predict", json={"text": "anything"}, headers=AUTH)
        assert r.status_code == 503
        assert r.json()["detail"]["code"] == "no_trained_heads" and "train" in r.json()["detail"]["message"]
        health = client.get("/health").json()
        assert health["status"] == "degraded" and health["encoder"]["status"] == "no trained heads"


# ----------------------------------------------------------------------------- metrics

def test_metrics_count_requests_latency_errors_and_cache(env):
    client, _, _ = env
    client.post("/predict", json={"text": "metrics please"}, headers=AUTH)
    client.post("/predict", json={"text": ""}, headers=AUTH)
    r = client.get("/metrics", headers=AUTH)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'mhdash_requests_total{endpoint="/predict",method="POST",status="200"}' in text
    assert 'mhdash_requests_total{endpoint="/predict",method="POST",status="422"}' in text
    assert 'mhdash_request_latency_seconds_bucket{endpoint="/predict",le="0.5"}' in text
    assert "mhdash_cache_total{result=\"hit\"}" in text and "mhdash_predictions_total{model_version=" in text


def test_server_errors_are_counted_and_explained(tmp_path):
    from api.main import create_app
    from core.errors import InferenceError

    def failing(encoder, texts, progress=None):
        raise InferenceError("The model failed on this text: boom")

    settings = api_settings(tmp_path / "var")
    with TestClient(create_app(settings, server=make_server(settings, score_texts=failing))) as client:
        r = client.post("/predict", json={"text": "x y z"}, headers=AUTH)
        assert r.status_code == 500 and r.json()["detail"]["code"] == "inference_failed"
        assert 'mhdash_errors_total{endpoint="/predict"} 1.0' in client.get("/metrics", headers=AUTH).text


# ----------------------------------------------------------------------------- canary

def test_canary_routes_its_share_and_every_output_names_its_version(env):
    from core.serving import clear_canary, set_canary

    client, settings, _ = env
    heads_dir, stable, candidate = heads_versions()
    texts = sample_texts(32, seed=7)
    try:
        set_canary(heads_dir, candidate, 1.0)
        res = client.post("/predict_batch", json={"texts": texts}, headers=AUTH).json()["results"]
        assert {r["model_version"] for r in res} == {candidate} and all(r["canary"] for r in res)
        assert client.get("/health").json()["canary"] == {"version": candidate, "share": 1.0}
        set_canary(heads_dir, candidate, 0.5)
        res = client.post("/predict_batch", json={"texts": texts}, headers=AUTH).json()["results"]
        versions = [r["model_version"] for r in res]
        assert 4 <= versions.count(candidate) <= 28 and stable in versions
        # Routing is by text: the same texts go to the same versions again.
        again = client.post("/predict_batch", json={"texts": texts}, headers=AUTH).json()["results"]
        assert [r["model_version"] for r in again] == versions
    finally:
        clear_canary(heads_dir)
    res = client.post("/predict_batch", json={"texts": texts}, headers=AUTH).json()["results"]
    assert {r["model_version"] for r in res} == {stable}


def test_canary_cli_set_status_promote_and_clear(tmp_path, monkeypatch, capsys):
    from core.cli import main
    from core.models import registry as model_registry
    from core.serving import read_canary

    src, stable, candidate = heads_versions()
    heads_dir = tmp_path / "heads"
    shutil.copytree(src, heads_dir, ignore=shutil.ignore_patterns("CANARY.json"))
    monkeypatch.setenv("MHD_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("MHD_HEADS_DIR", str(heads_dir))
    assert main(["canary", "set", candidate]) == 0
    assert read_canary(heads_dir).share == 0.1
    assert main(["canary", "set", stable]) == 2  # already serving
    assert main(["canary", "set", candidate, "--share", "1.5"]) == 2
    assert main(["canary", "status"]) == 0
    assert f"canary: {candidate} at 10%" in capsys.readouterr().out
    assert main(["canary", "promote"]) == 0
    assert model_registry.latest(heads_dir) == candidate and read_canary(heads_dir) is None
    assert main(["canary", "promote"]) == 2
    assert main(["canary", "set", stable, "--share", "0.2"]) == 0
    assert main(["canary", "clear"]) == 0 and read_canary(heads_dir) is None


def test_promotion_takes_effect_on_a_running_server(tmp_path):
    from api.main import create_app
    from core.models import registry as model_registry

    src, stable, candidate = heads_versions()
    heads_dir = tmp_path / "heads"
    shutil.copytree(src, heads_dir, ignore=shutil.ignore_patterns("CANARY.json"))
    settings = api_settings(tmp_path / "var", heads_dir=heads_dir)
    with TestClient(create_app(settings, server=make_server(settings))) as client:
        assert client.post("/predict", json={"text": "a b"}, headers=AUTH).json()["model_version"] == stable
        model_registry.promote(heads_dir, candidate)
        assert client.post("/predict", json={"text": "a b"}, headers=AUTH).json()["model_version"] == candidate
        model_registry.rollback(heads_dir, stable)
        assert client.post("/predict", json={"text": "a b"}, headers=AUTH).json()["model_version"] == stable


# ----------------------------------------------------------------------------- drift through the API

def test_drift_report_over_logged_predictions(env, capsys, monkeypatch):
    from core.cli import main
    from core.serving import build_reference, drift_report

    client, settings, server = env
    _, stable, _ = heads_versions()
    build_reference(settings, stable, texts=sample_texts(60, seed=3),
                    encoder=cached_load_encoder(settings.replace(heads_version=stable)))
    for start in range(0, 40, 20):
        client.post("/predict_batch", json={"texts": sample_texts(40, seed=11)[start:start + 20]}, headers=AUTH)
    df = drift_report(settings, "1d", store=server.store, version=stable)
    assert list(df["head"]) == ["sentiment", "family_history", "trauma", "isolation", "support"]
    assert (df["n_recent"] >= 40).all() and (df["n_reference"] == 60).all()
    assert df["psi"].notna().all() and df["ks_pvalue"].between(0, 1).all()
    monkeypatch.setenv("MHD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MHD_HEADS_DIR", str(settings.heads_dir))
    assert main(["drift", "--since", "1d"]) == 0
    out = capsys.readouterr().out
    assert "psi" in out and stable in out


# ----------------------------------------------------------------------------- /analyze and /tasks (real LLM)

def test_analyze_returns_label_probabilities_and_rationale(env):
    from core.llm.tasks import get_task

    client, _, _ = env
    r = client.post("/analyze", json={"text": "I can't sleep, I feel hopeless and empty every day.",
                                      "task": "depression"}, headers=AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["label"] in get_task("depression").labels
    assert sum(body["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert body["model_version"] == real_llm().version and body["prompt_version"]
    assert isinstance(body["rationale"], str) and body["cached"] is False
    again = client.post("/analyze", json={"text": "I can't sleep, I feel hopeless and empty every day.",
                                          "task": "depression"}, headers=AUTH).json()
    assert again["cached"] is True and again["probabilities"] == body["probabilities"]
    assert client.get("/health").json()["llm"]["status"] == "ready"


@pytest.mark.parametrize("body,status", [
    ({"text": "fine", "task": "no_such_task"}, 404), ({"text": "", "task": "depression"}, 422),
    ({"text": "fine"}, 422), ({"task": "depression"}, 422),
])
def test_analyze_errors(env, body, status):
    client, _, _ = env
    assert client.post("/analyze", json=body, headers=AUTH).status_code == status


def test_tasks_lists_the_registry(env):
    from core.llm.tasks import TASKS

    client, _, _ = env
    names = [t["name"] for t in client.get("/tasks", headers=AUTH).json()]
    assert names == list(TASKS)


# ----------------------------------------------------------------------------- /v1/completions

def test_completions_echo_logprobs_and_greedy_generation(env):
    client, _, _ = env
    prompt = "The capital of France is"
    r = client.post("/v1/completions", json={"prompt": prompt, "max_tokens": 3, "logprobs": 2, "echo": True,
                                             "temperature": 0}, headers=AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    choice = body["choices"][0]
    lp = choice["logprobs"]
    assert choice["text"].startswith(prompt) and body["model"] == real_llm().version
    assert lp["token_logprobs"][0] is None and all(v <= 0 for v in lp["token_logprobs"][1:])
    assert lp["text_offset"][0] == 0 and lp["text_offset"] == sorted(lp["text_offset"])
    assert all(len(t) <= 2 for t in lp["top_logprobs"][1:])
    assert body["usage"]["completion_tokens"] == len(lp["tokens"]) - body["usage"]["prompt_tokens"]
    # Greedy: the same request gives the same text.
    again = client.post("/v1/completions", json={"prompt": prompt, "max_tokens": 3}, headers=AUTH).json()
    assert prompt + again["choices"][0]["text"] == choice["text"]
    models = client.get("/v1/models", headers=AUTH).json()
    assert models["data"][0]["id"] == real_llm().version


@pytest.mark.parametrize("body", [
    {"prompt": "x", "temperature": 0.7}, {"prompt": "x", "stream": True}, {"prompt": "x", "n": 2},
    {"prompt": ""}, {"prompt": []}, {"prompt": "x", "max_tokens": 100000}, {"prompt": "x", "logprobs": 9},
])
def test_completions_reject_what_they_do_not_support(env, body):
    client, _, _ = env
    assert client.post("/v1/completions", json=body, headers=AUTH).status_code == 422
