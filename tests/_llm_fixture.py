"""Models for the LLM tests, built or loaded once per test session (module-level caches).

* ``tiny_model_dir(hidden)``: a random LlamaForCausalLM (2 layers) with the embedded
  encoder's WordPiece tokenizer, saved to a temporary folder: fast mechanics tests.
* ``embedded_llm()``: the real embedded SmolLM2 + the shipped adapter (slow tests).
"""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
SHIPPED_ADAPTER = ROOT / "data" / "models" / "lora-smollm2-imhi"
SHARED_IMHI = ROOT.parent / "shared" / "data" / "imhi"


@lru_cache(maxsize=4)
def tiny_model_dir(hidden: int = 32, seed: int = 0) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from core.hardware import embedded_encoder_dir

    tokenizer = AutoTokenizer.from_pretrained(str(embedded_encoder_dir()))
    tokenizer.eos_token = "[SEP]"
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    path = Path(tempfile.mkdtemp(prefix=f"tiny-llama-{hidden}-"))
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def tiny_settings(tmp_path: Path, hidden: int = 32, **changes):
    from core.settings import load_settings

    values = {"data_dir": tmp_path / "var", "llm_base": str(tiny_model_dir(hidden)), "llm_adapter": "",
              "device": "cpu", "max_new_tokens": 12, **changes}
    return load_settings(env={}, **values)


@lru_cache(maxsize=1)
def tiny_adapter_dir(hidden: int = 32) -> Path:
    """A LoRA adapter trained for two steps on the tiny model (shared by tests)."""
    from core.llm.lora import LoraArgs, train_lora

    work = Path(tempfile.mkdtemp(prefix="tiny-adapter-"))
    data = write_tiny_data(work / "data")
    train_lora(tiny_settings(work, hidden), data, work / "adapter",
               LoraArgs(rank=4, alpha=8, max_steps=2, batch_size=2, grad_accum=1, save_every=1, max_length=96),
               progress=False, log=lambda m: None)
    return work / "adapter"


def write_tiny_data(folder: Path) -> Path:
    """A folder with an IMHI-style CSV and a JSONL file."""
    import csv
    import json

    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        ('Consider this post: "I cannot get out of bed and nothing matters." Question: Does the poster suffer from depression?',
         "Yes, the poster suffers from depression. Reasoning: The post describes anhedonia and low energy."),
        ('Consider this post: "Had a lovely picnic with friends today." Question: Does the poster suffer from depression?',
         "No, the poster does not suffer from depression. Reasoning: The post is positive."),
        ('Consider this post: "Exams next week and I am panicking." Question: Does the poster suffer from stress?',
         "Yes, the poster suffers from stress. Reasoning: Exam pressure and panic."),
    ]
    (folder / "DR").mkdir(exist_ok=True)
    with open(folder / "DR" / "train.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["query", "gpt-3.5-turbo"])
        w.writerows(rows[:2])
    with open(folder / "dreaddit.jsonl", "w") as fh:
        fh.write(json.dumps({"query": rows[2][0], "answer": rows[2][1]}) + "\n")
    return folder


@lru_cache(maxsize=1)
def embedded_llm():
    """The real embedded model with the shipped adapter, loaded once per session."""
    from core.llm.model import load_llm
    from core.settings import load_settings

    return load_llm(load_settings(env={}, llm_adapter=str(SHIPPED_ADAPTER), device="cpu"))
