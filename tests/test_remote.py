"""Remote backends end to end: the project's API served by uvicorn on a free loopback port, the dashboard's
clients (RemoteEncoder, remote analyze over /v1/completions) against it, with the real embedded models."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import httpx
import pytest

from tests.test_api import TOKEN, api_settings, cached_load_encoder, heads_versions, make_server, real_llm, sample_texts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn in a thread; ``url`` is its loopback address."""

    def __init__(self, app):
        import uvicorn

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from api.main import create_app

    settings = api_settings(tmp_path_factory.mktemp("remote") / "var")
    with LiveServer(create_app(settings, server=make_server(settings))) as srv:
        yield srv, settings


def test_remote_encoder_scores_like_in_process(live):
    from core import backends as remote
    from core.models.encoder import score_texts

    srv, settings = live
    _, stable, _ = heads_versions()
    client_settings = settings.replace(encoder_url=srv.url)
    enc = remote.load_encoder(client_settings)
    assert isinstance(enc, remote.RemoteEncoder) and enc.version == stable and enc.device.startswith("remote:")
    texts = sample_texts(40, seed=21)  # two requests: 32 + 8
    seen = []
    got = remote.score_texts(enc, texts, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(32, 40), (40, 40)]
    local = score_texts(cached_load_encoder(settings.replace(heads_version=stable)), texts)
    assert len(got) == 40
    for g, mine in zip(got, local):
        assert g["model_version"] == stable and g["windows"] == mine["windows"] and g["tokens"] == mine["tokens"]
        for name, h in mine["heads"].items():
            for k in ("value", "std", "low", "high"):
                assert g["heads"][name][k] == pytest.approx(h[k], abs=1e-5)


def test_in_process_backend_is_chosen_without_a_url(live):
    from core import backends as remote

    _, settings = live
    enc = remote.load_encoder(settings)
    assert not getattr(enc, "remote", False)
    assert remote.score_texts(enc, ["in process"])[0]["heads"]


def test_remote_analyze_scores_labels_through_completion_logprobs(live):
    from core import backends as remote
    from core.llm.answers import score_labels

    srv, settings = live
    llm = remote.load_llm(settings.replace(llm_url=srv.url + "/"))
    assert isinstance(llm, remote.RemoteLLM) and llm.model == real_llm().version
    text = "Exams are next week and I cannot stop worrying; my chest is tight all the time."
    streamed = []
    # The server advertises the adapter's label-prior correction, so labels are scored as in process.
    assert llm.prior_shift and llm.prior_shift == real_llm().prior_shift
    out = remote.analyze(llm, "stress", text, on_token=streamed.append, max_new_tokens=6)
    local = score_labels(real_llm(), "stress", text)
    assert out["label_method"] == "logprobs" and out["label"] == local["label"]
    # In process the prompt is tokenized in pieces (template, post, template) so a post cannot merge into the
    # template's tokens; a completions server can only tokenize the whole string. So the exact reference for
    # the remote path is the real model scoring the whole-string tokens directly, with the same correction.
    reference = _whole_string_label_probabilities(real_llm(), "stress", text)
    for label, p in reference.items():
        assert out["probabilities"][label] == pytest.approx(p, abs=1e-3)
    assert out["model_version"] == f"remote:{real_llm().version}" and out["prompt_version"] == local["prompt_version"]
    assert isinstance(out["rationale"], str) and streamed == ([out["rationale"]] if out["rationale"] else [])


def _whole_string_label_probabilities(llm, task_name: str, text: str) -> dict:
    """Softmax over (summed log-probabilities of each label sentence's tokens + prior shift), the prompt and the
    sentence tokenized as one string, computed directly with the in-process model."""
    import torch

    from core.llm.tasks import get_task

    task = get_task(task_name)
    prompt = task.build_prompt(text)
    scores = []
    for label, sentence in task.label_sentences.items():
        enc = llm.tokenizer(prompt + sentence, add_special_tokens=False, return_offsets_mapping=True)
        ids, starts = enc["input_ids"], [s for s, _ in enc["offset_mapping"]]
        with torch.inference_mode():
            logp = torch.log_softmax(llm.model(torch.tensor([ids])).logits[0].float(), dim=-1)
        total = sum(float(logp[j - 1, ids[j]]) for j in range(1, len(ids)) if starts[j] >= len(prompt))
        scores.append(total + llm.prior_shift.get(task.name, {}).get(label, 0.0))
    z = torch.softmax(torch.tensor(scores, dtype=torch.float64), dim=0).tolist()
    return dict(zip(task.labels, z, strict=True))


def test_remote_analyze_falls_back_to_parsing_generated_text(live):
    """A server that returns no prompt log-probabilities (a proxy dropping them from the real server's answers)."""
    from core import backends as remote

    srv, _ = live
    upstream = httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120)

    def no_logprobs(request: httpx.Request) -> httpx.Response:
        resp = upstream.request(request.method, request.url.path, content=request.content,
                                headers={"Content-Type": "application/json"})
        body = resp.json()
        for ch in body.get("choices", []):
            ch["logprobs"] = None
        return httpx.Response(resp.status_code, json=body)

    llm = remote.connect_llm("https://proxy", TOKEN, transport=httpx.MockTransport(no_logprobs))
    out = remote.analyze(llm, "depression", "Nothing matters any more and I stay in bed all day.",
                         max_new_tokens=12)
    assert out["label_method"] == "parsed from generated text" and out["probabilities"] == {}
    assert any("no prompt log-probabilities" in n for n in out["notes"])
    assert out["label"] in (None, "yes", "no")
    upstream.close()


def test_remote_errors_are_named(live, tmp_path):
    from core import backends as remote
    from core.errors import ConfigError, ModelUnavailable, ValidationError

    srv, settings = live
    with pytest.raises(ConfigError, match="refused the API token"):
        remote.score_texts(remote.RemoteEncoder(srv.url, "wrong-token-wrong-token", "v", "m", []), ["x"])
    with pytest.raises(ModelUnavailable, match="does not answer"):
        remote.connect_encoder(f"http://127.0.0.1:{_free_port()}", TOKEN, timeout=2)
    enc = remote.connect_encoder(srv.url, TOKEN)
    with pytest.raises(ValidationError):
        remote.score_texts(enc, ["fine", "  "])
    llm = remote.connect_llm(srv.url, TOKEN)
    with pytest.raises(ValidationError):
        remote.analyze(llm, "depression", "")


def test_remote_encoder_reports_missing_heads(tmp_path):
    from api.main import create_app
    from core import backends as remote
    from core.errors import NoTrainedHeads

    settings = api_settings(tmp_path / "var", heads_dir=tmp_path / "no-heads")
    with LiveServer(create_app(settings, server=make_server(settings))) as srv, \
            pytest.raises(NoTrainedHeads):
        remote.connect_encoder(srv.url, TOKEN)


def test_advertised_label_prior_correction_is_validated_not_trusted():
    """A server's label_prior_shift is used when well formed; junk in it is dropped, and vLLM-style listings
    without it give no correction."""
    from core import backends as remote

    listing = {"data": [{"id": "served", "label_prior_shift": {
        "stress": {"yes": -0.4, "no": 0.2, "bad": "x", "flag": True, "none": None}, "junk": [1, 2], "empty": {}}}]}

    def models(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/models"
        return httpx.Response(200, json=listing)

    llm = remote.connect_llm("https://served", TOKEN, transport=httpx.MockTransport(models))
    assert llm.model == "served" and llm.prior_shift == {"stress": {"yes": -0.4, "no": 0.2}}
    listing["data"][0].pop("label_prior_shift")
    assert remote.connect_llm("https://served", TOKEN, transport=httpx.MockTransport(models)).prior_shift == {}


@pytest.mark.parametrize("url,allowed", [
    ("http://llm.example:8080", False), ("http://10.0.0.5:8000", False), ("ftp://llm.example", False),
    ("https://llm.example", True), ("http://127.0.0.1:8000", True), ("http://localhost:8000", True),
    ("http://[::1]:8000", True), ("http://127.0.0.1.evil.example", False),
])
def test_the_api_token_never_travels_over_plain_http_off_the_machine(url, allowed):
    from core import backends as remote
    from core.errors import ConfigError

    sent = []

    def capture(request):
        sent.append(request.headers.get("authorization"))
        return httpx.Response(200, json={"data": [{"id": "m"}]})

    if allowed:
        with contextlib.suppress(Exception):
            remote.connect_llm(url, TOKEN, transport=httpx.MockTransport(capture))
        assert sent and sent[0] == f"Bearer {TOKEN}"
    else:
        with pytest.raises(ConfigError, match="Refusing to send the API token"):
            remote.connect_llm(url, TOKEN, transport=httpx.MockTransport(capture))
        assert sent == []
