"""Loader mechanics on a tiny random Llama: adapter attach/merge/mismatch, named errors, LoRA training."""

import json

import pytest

from core.errors import AdapterMismatch, ConfigError, DataError, ModelUnavailable, QuantizationUnavailable
from tests._llm_fixture import tiny_adapter_dir, tiny_settings, write_tiny_data


def test_load_base_without_adapter(tmp_path):
    from core.llm.model import load_llm

    s = tiny_settings(tmp_path)
    llm = load_llm(s)
    assert llm.model_id == s.llm_base and llm.adapter_id == "" and llm.version == s.llm_base
    assert llm.device == "cpu" and llm.dtype == "float32"
    assert llm.tokenizer.pad_token is not None and llm.tokenizer.padding_side == "left"


def test_adapter_loads_unmerged_and_merged_with_same_scores(tmp_path):
    from core.llm import answers
    from core.llm.model import load_llm

    adapter = tiny_adapter_dir()
    s = tiny_settings(tmp_path, llm_adapter=str(adapter))
    plain = load_llm(s)
    assert plain.adapter_hash and plain.adapter_hash[:12] in plain.version and not plain.merged
    assert type(plain.model).__name__ == "PeftModelForCausalLM"
    assert plain.trained_tasks == {"depression", "stress"}
    merged = load_llm(s, merge=True)
    assert merged.merged and type(merged.model).__name__ == "LlamaForCausalLM"
    a = answers.score_labels(plain, "depression", "I cannot sleep and feel empty.")
    b = answers.score_labels(merged, "depression", "I cannot sleep and feel empty.")
    assert a["probabilities"] == pytest.approx(b["probabilities"], abs=1e-4)
    base = answers.score_labels(load_llm(s, adapter=""), "depression", "I cannot sleep and feel empty.")
    assert base["model_version"] != a["model_version"]


def test_adapter_for_another_base_is_refused(tmp_path):
    from core.llm.model import load_llm

    s = tiny_settings(tmp_path, hidden=48, llm_adapter=str(tiny_adapter_dir(32)))
    with pytest.raises(AdapterMismatch, match="trained for"):
        load_llm(s)


def test_adapter_whose_recorded_base_differs_is_refused(tmp_path):
    """Shapes alone fit (same hidden size), but the adapter says it was trained on a model with other sizes."""
    import json
    import shutil

    from core.llm.model import PROVENANCE_FILE, load_llm

    adapter = tmp_path / "adapter"
    shutil.copytree(tiny_adapter_dir(32), adapter)
    prov = json.loads((adapter / PROVENANCE_FILE).read_text())
    assert prov["base"]["num_hidden_layers"] == 2
    load_llm(tiny_settings(tmp_path, llm_adapter=str(adapter)))  # as recorded: loads
    prov["base"]["num_hidden_layers"] = 3
    (adapter / PROVENANCE_FILE).write_text(json.dumps(prov))
    with pytest.raises(AdapterMismatch, match="num_hidden_layers 3"):
        load_llm(tiny_settings(tmp_path, llm_adapter=str(adapter)))


def test_missing_files_are_named(tmp_path):
    from core.llm.model import load_llm

    with pytest.raises(ModelUnavailable, match="adapter not found"):
        load_llm(tiny_settings(tmp_path, llm_adapter=str(tmp_path / "nope")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelUnavailable, match="adapter_config.json"):
        load_llm(tiny_settings(tmp_path, llm_adapter=str(tmp_path / "empty")))
    s = tiny_settings(tmp_path).replace(llm_base=str(tmp_path / "missing-model"))
    with pytest.raises(ModelUnavailable, match="not found"):
        load_llm(s)
    with pytest.raises(ModelUnavailable, match="GGUF file not found"):
        load_llm(s.replace(llm_base=str(tmp_path / "x.gguf")))


@pytest.mark.parametrize("quant", ["4bit", "8bit"])
def test_quantization_without_cuda_says_what_to_do(tmp_path, quant):
    import torch

    from core.llm.model import load_llm

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(QuantizationUnavailable, match="quantization=none"):
        load_llm(tiny_settings(tmp_path, quantization=quant))
    with pytest.raises(ConfigError):
        load_llm(tiny_settings(tmp_path, device="cuda"))


def test_gguf_is_converted_once_and_cached(tmp_path, monkeypatch):
    """A cached conversion is reused without reading the GGUF again (keyed by the file's hash)."""
    from core.llm import model as llm_mod

    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF fake")
    target = tmp_path / "cache" / "llm-gguf" / f"m-{llm_mod.file_hash(gguf)[:16]}"
    target.mkdir(parents=True)
    (target / "config.json").write_text("{}")
    (target / "tokenizer_config.json").write_text("{}")
    assert llm_mod.converted_gguf_dir(gguf, tmp_path / "cache") == target
    gguf.write_bytes(b"GGUF other")  # new content -> new key -> conversion attempted (and fails on fake data)
    with pytest.raises(ModelUnavailable):
        llm_mod.converted_gguf_dir(gguf, tmp_path / "cache")


def test_train_lora_writes_adapter_with_provenance_and_resumes(tmp_path):
    from core.llm.lora import LoraArgs, train_lora

    data = write_tiny_data(tmp_path / "data")
    s = tiny_settings(tmp_path)
    args = LoraArgs(rank=2, alpha=4, max_steps=1, batch_size=2, grad_accum=1, save_every=1, max_length=64,
                    target_modules=("q_proj", "v_proj"))
    prov = train_lora(s, data, tmp_path / "out", args, progress=False, log=lambda m: None)
    assert prov["steps_done"] == 1 and prov["examples"] == 3
    assert (tmp_path / "out" / "adapter_model.safetensors").exists()
    cfg = json.loads((tmp_path / "out" / "adapter_config.json").read_text())
    assert cfg["r"] == 2 and set(cfg["target_modules"]) == {"q_proj", "v_proj"}
    assert cfg["base_model_name_or_path"] == s.llm_base
    logs = []
    args.max_steps = 2
    prov = train_lora(s, data, tmp_path / "out", args, progress=False, log=logs.append)
    assert prov["steps_done"] == 2 and len(prov["loss_history"]) == 2
    assert any("resuming from step 1" in m for m in logs)


def test_training_data_errors(tmp_path):
    from core.llm.lora import read_examples, stratified_subsample

    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nhello,1\n")
    with pytest.raises(DataError, match="no 'query' column"):
        read_examples(bad)
    bad.write_text('query,gpt-3.5-turbo\n"Consider this post: ""x"" Question: Does the poster suffer from stress?",'
                   '"I do not know"\n')
    with pytest.raises(DataError, match="states no stress label"):
        read_examples(bad)
    jl = tmp_path / "x.jsonl"
    jl.write_text("{not json}\n")
    with pytest.raises(DataError, match="line 1"):
        read_examples(jl)
    ex = read_examples(write_tiny_data(tmp_path / "d"))
    assert {e["task"] for e in ex} == {"depression", "stress"}
    picked = stratified_subsample(ex, 2)
    assert len({(e["task"], e["label"]) for e in picked}) == 2


def test_label_prior_correction_undoes_balanced_subsampling():
    import math
    from types import SimpleNamespace

    from core.llm.answers import corrected_scores
    from core.llm.lora import label_priors, stratified_subsample
    from core.llm.model import prior_shift_from
    from core.llm.tasks import get_task

    population = [{"task": "depression", "label": "yes"}] * 75 + [{"task": "depression", "label": "no"}] * 25
    trained = stratified_subsample(population, 20)
    priors = label_priors(population, trained)
    assert priors["depression"]["natural"] == {"yes": 0.75, "no": 0.25}
    assert priors["depression"]["trained"] == {"yes": 0.5, "no": 0.5}
    shift = prior_shift_from(priors)
    assert shift["depression"]["yes"] == pytest.approx(math.log(1.5))
    llm = SimpleNamespace(prior_shift=shift)
    yes, no = corrected_scores(llm, get_task("depression"), [-2.0, -2.0])
    assert yes - no == pytest.approx(math.log(3))
    assert corrected_scores(llm, get_task("stress"), [-1.0, -2.0]) == [-1.0, -2.0]


def test_the_optional_bitsandbytes_kernels_notice_is_dropped_and_nothing_else():
    import logging

    from core.llm.model import BNB_CPU_LOGGER, quiet_optional_kernels_notice

    quiet_optional_kernels_notice()
    quiet_optional_kernels_notice()  # idempotent
    log = logging.getLogger(BNB_CPU_LOGGER)
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    handler = Keep()
    log.addHandler(handler)
    try:
        log.warning("Failed to load CPU gemm_4bit_forward from kernels-community: %s. Please make sure ...",
                    "No module named 'kernels'")
        log.warning("Some other bitsandbytes warning")
    finally:
        log.removeHandler(handler)
    assert seen == ["Some other bitsandbytes warning"]
    assert sum(type(f).__name__ == "_DropKernelsNotice" for f in log.filters) == 1
