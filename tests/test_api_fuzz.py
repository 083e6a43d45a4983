"""Schemathesis over the published OpenAPI schema: generated and mutated requests, no server errors.

Bounded (about 10 examples per operation, ~80 requests in all). The models are small
test doubles at the model boundary (the ModelServer's loader/scorer/analyzer
parameters) so the fuzz run exercises the HTTP layer, validation, auth, cache, log
and metrics quickly; tests/test_api.py runs the same endpoints on the real models.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.test_api import AUTH, TOKEN, heads_versions


@dataclass
class FakeEncoder:
    version: str
    model_id: str = "test-double-encoder"


@dataclass
class FakeLLM:
    version: str = "test-double-llm"
    model_id: str = "test-double-llm"


def fake_scores(encoder, texts, progress=None):
    from core.models.heads import HEADS

    out = []
    for t in texts:
        u = int(hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest()[:6], 16) / 0xFFFFFF
        heads = {h.name: {"value": h.low + u * (h.high - h.low), "std": 0.01, "low": h.low, "high": h.high}
                 for h in HEADS}
        out.append({"heads": heads, "windows": 1, "tokens": len(t.split())})
    return out


def fake_analyze(llm, task_name, text, **kw):
    from core.llm.tasks import get_task

    task = get_task(task_name)
    probs = {label: 1 / len(task.labels) for label in task.labels} if task.kind == "classify" else {}
    return {"task": task.name, "label": task.labels[0] if probs else None, "probabilities": probs,
            "rationale": "double", "prompt_version": task.prompt_version, "model_id": llm.model_id,
            "model_version": llm.version, "notes": [], "truncated": False}


def fake_complete(llm, prompt, *, max_tokens=16, logprobs=None, echo=False, stop=()):
    lp = {"tokens": [prompt[:1]], "token_logprobs": [None], "top_logprobs": [None], "text_offset": [0]} \
        if logprobs is not None else None
    return {"text": (prompt if echo else "") + "ok", "finish_reason": "length", "logprobs": lp,
            "prompt_tokens": 1, "completion_tokens": 1}


def build_app(tmp_path):
    from api.main import create_app
    from core.serving import ModelServer
    from core.settings import load_settings

    heads_dir, _, _ = heads_versions()
    s = load_settings(env={}, data_dir=tmp_path / "var", heads_dir=heads_dir, api_token=TOKEN)
    server = ModelServer(s, load_encoder=lambda st: FakeEncoder(st.heads_version), score_texts=fake_scores,
                         load_llm=lambda st: FakeLLM(), analyze=fake_analyze, complete=fake_complete)
    return create_app(s, server=server)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return build_app(tmp_path_factory.mktemp("fuzz"))


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_no_server_errors(app, mode):
    """Valid (positive) and schema-violating (negative) requests to every operation: never a 5xx."""
    from hypothesis import given
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=AUTH)
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance]
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 8
    calls = 0
    for op in operations:
        @given(case=op.as_strategy(generation_mode=GenerationMode(mode)))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def run(case):
            nonlocal calls
            calls += 1
            case.call_and_validate(headers=AUTH, checks=checks)

        try:
            run()
        except Unsatisfiable:
            # An operation with no parameters and no body (GET /health) has nothing to make invalid.
            assert mode == "negative"
    assert calls >= len(operations)


EXAMPLES = 5
