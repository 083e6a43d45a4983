"""LoRA instruction tuning on IMHI-style data (query -> label sentence + reasoning).

The same function trains the embedded SmolLM2 on a laptop CPU and a 33B base
on a GPU (4-bit base + LoRA): the base comes from ``core.llm.model``. Training is
resumable: every ``save_every`` steps the adapter, the optimizer and the data
position are written under ``<output>/checkpoint`` and the adapter itself to
``<output>`` (so an interrupted run still leaves a usable adapter whose
provenance file says how far it got).
"""

from __future__ import annotations

import csv
import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.errors import DataError, ValidationError
from core.hardware import resolve_device
from core.llm.model import PROVENANCE_FILE, load_base_model, load_tokenizer, resolve_base
from core.llm.parsing import parse_response
from core.llm.tasks import ANSWER_SEPARATOR, REASONING, get_task, split_query, task_for_query

ANSWER_COLUMNS = ("gpt-3.5-turbo", "answer", "response", "output")


@dataclass
class LoraArgs:
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    max_length: int = 320  # tokens of prompt + answer; long posts are cut to fit
    max_answer_tokens: int = 96  # label sentence + the start of the reasoning
    epochs: float = 1.0
    learning_rate: float = 2e-4
    batch_size: int = 4
    grad_accum: int = 2
    warmup_steps: int = 10
    weight_decay: float = 0.0
    label_weight: float = 3.0  # loss weight of the label-sentence tokens relative to the reasoning
    limit: int | None = None  # examples, stratified over (task, label)
    max_steps: int | None = None
    save_every: int = 20
    seed: int = 0
    gradient_checkpointing: bool = False
    extra: dict = field(default_factory=dict)


# ------------------------------------------------------------------ data
def _csv_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        cols = reader.fieldnames or []
        if "query" not in cols:
            raise DataError(f"{path}: no 'query' column (columns: {', '.join(cols)})")
        answer_col = next((c for c in ANSWER_COLUMNS if c in cols), None)
        if answer_col is None:
            raise DataError(f"{path}: no answer column (one of {', '.join(ANSWER_COLUMNS)})")
        rows = []
        for i, row in enumerate(reader, start=2):
            if not (row.get("query") or "").strip() or not (row.get(answer_col) or "").strip():
                raise DataError(f"{path}: row {i} has an empty query or {answer_col}")
            rows.append({"query": row["query"], "answer": row[answer_col]})
        return rows


def _jsonl_rows(path: Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}: line {i} is not JSON: {exc}") from exc
            if not isinstance(obj, dict) or not obj.get("query") or not obj.get("answer"):
                raise DataError(f"{path}: line {i} needs non-empty 'query' and 'answer'")
            rows.append({"query": str(obj["query"]), "answer": str(obj["answer"])})
    return rows


def _dataset_name(path: Path, root: Path) -> str:
    # train/DR/train.csv -> DR ; test/DR.csv -> DR
    if path.stem.lower() in ("train", "val", "valid", "validation", "test", "dev") and path.parent != root.parent:
        return path.parent.name
    return path.stem


def read_examples(paths) -> list[dict]:
    """IMHI instruction examples from CSV files (query + gpt-3.5-turbo/answer), JSONL, or folders of them.

    Each example: {query, answer, dataset, task, label}; the task comes from the question,
    the label from parsing the gold answer (examples whose label cannot be read are refused).
    """

    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[tuple[Path, Path]] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += [(f, p) for f in sorted(p.rglob("*")) if f.suffix.lower() in (".csv", ".jsonl")]
        elif p.exists():
            files.append((p, p.parent))
        else:
            raise DataError(f"Training data not found: {p}")
    if not files:
        raise DataError(f"No .csv or .jsonl files under {', '.join(map(str, paths))}")
    out = []
    for path, root in files:
        rows = _jsonl_rows(path) if path.suffix.lower() == ".jsonl" else _csv_rows(path)
        dataset = _dataset_name(path, root)
        for i, row in enumerate(rows):
            try:
                task = task_for_query(row["query"], dataset)
            except ValidationError:
                task = task_for_query(row["query"])
            parsed = parse_response(task.name, row["answer"])
            if not parsed["parse_ok"]:
                raise DataError(f"{path}: example {i + 1}: the gold answer states no {task.name} label")
            out.append({**row, "dataset": dataset, "task": task.name, "label": parsed["label"],
                        "rationale": parsed["rationale"]})
    return out


def stratified_subsample(examples: list[dict], limit: int | None, seed: int = 0) -> list[dict]:
    """Up to `limit` examples, round-robin over (task, label) groups so small classes are kept."""
    rng = random.Random(seed)
    if not limit or limit >= len(examples):
        out = list(examples)
        rng.shuffle(out)
        return out
    groups: dict[tuple, list] = {}
    for ex in examples:
        groups.setdefault((ex["task"], ex["label"]), []).append(ex)
    for g in groups.values():
        rng.shuffle(g)
    order = sorted(groups)
    picked: list[dict] = []
    i = 0
    while len(picked) < limit:
        progressed = False
        for key in order:
            if i < len(groups[key]) and len(picked) < limit:
                picked.append(groups[key][i])
                progressed = True
        if not progressed:
            break
        i += 1
    rng.shuffle(picked)
    return picked


def encode_example(tokenizer, example: dict, max_length: int, max_answer_tokens: int) -> dict:
    """input_ids, labels (-100 on the prompt) and a weight mask marking the label sentence.

    The post is cut (keeping its beginning) so that the answer always fits.
    """

    task = get_task(example["task"])
    sentence = task.label_sentences[example["label"]]
    rationale = example.get("rationale") or ""
    label_ids = tokenizer(sentence, add_special_tokens=False)["input_ids"]
    rest_ids = tokenizer(" " + REASONING + " " + rationale, add_special_tokens=False)["input_ids"] if rationale else []
    rest_ids = rest_ids[: max(0, max_answer_tokens - len(label_ids))]
    eos = [tokenizer.eos_token_id] if len(rest_ids) < max_answer_tokens else []
    answer_ids = label_ids + rest_ids + eos
    post, question = split_query(example["query"])
    frame = task.build_prompt("{}")  # the query around the post
    before, after = frame.split("{}")
    before_ids = tokenizer(before, add_special_tokens=False)["input_ids"]
    after_ids = tokenizer(after, add_special_tokens=False)["input_ids"]
    budget = max_length - len(answer_ids) - len(before_ids) - len(after_ids)
    post_ids = tokenizer(post, add_special_tokens=False)["input_ids"][: max(budget, 8)]
    prompt_ids = before_ids + post_ids + after_ids
    ids = prompt_ids + answer_ids
    labels = [-100] * len(prompt_ids) + answer_ids
    weights = [0.0] * len(prompt_ids) + [1.0] * len(label_ids) + [0.0] * (len(rest_ids) + len(eos))
    return {"input_ids": ids, "labels": labels, "label_mask": weights}


def _collate(batch: list[dict], pad_id: int):
    """Left-padded tensors, so every answer ends at the last position (logits are only needed there)."""
    import torch

    n = max(len(b["input_ids"]) for b in batch)
    ids = torch.full((len(batch), n), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), n), -100, dtype=torch.long)
    attn = torch.zeros((len(batch), n), dtype=torch.long)
    lmask = torch.zeros((len(batch), n), dtype=torch.float32)
    for i, b in enumerate(batch):
        k = len(b["input_ids"])
        ids[i, n - k:] = torch.tensor(b["input_ids"])
        labels[i, n - k:] = torch.tensor(b["labels"])
        attn[i, n - k:] = 1
        lmask[i, n - k:] = torch.tensor(b["label_mask"])
    return ids, attn, labels, lmask


def weighted_lm_loss(logits, labels, label_mask, label_weight: float):
    """Causal LM loss over answer tokens, the label sentence weighted `label_weight` times."""
    import torch.nn.functional as F

    logits = logits[:, :-1].float()
    target = labels[:, 1:]
    w = 1.0 + (label_weight - 1.0) * label_mask[:, 1:]
    valid = (target != -100).float()
    tok = F.cross_entropy(logits.reshape(-1, logits.size(-1)), target.reshape(-1).clamp(min=0), reduction="none")
    tok = tok.view_as(valid) * valid * w
    return tok.sum() / (valid * w).sum().clamp(min=1.0)


# ------------------------------------------------------------------ training
def train_lora(settings, data, output, args: LoraArgs | None = None, *, resume: bool = True,
               progress: bool = True, log=print) -> dict:
    """Train a LoRA adapter; returns the provenance written to <output>/mhdash_adapter.json."""
    import torch
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from safetensors.torch import load_file
    from tqdm import tqdm


    args = args or LoraArgs()
    output = Path(output)
    every = read_examples(data)
    examples = stratified_subsample(every, args.limit, args.seed)
    device = resolve_device(settings.device)
    model_id, source = resolve_base(settings)
    tokenizer = load_tokenizer(source)
    base = load_base_model(source, device, settings.quantization)
    if settings.quantization != "none":
        from peft import prepare_model_for_kbit_training

        base = prepare_model_for_kbit_training(base, use_gradient_checkpointing=args.gradient_checkpointing)
    elif args.gradient_checkpointing:
        base.gradient_checkpointing_enable()
    config = LoraConfig(
        r=args.rank, lora_alpha=args.alpha, lora_dropout=args.dropout, target_modules=list(args.target_modules),
        bias="none", task_type="CAUSAL_LM",
    )
    model = get_peft_model(base, config)
    model.peft_config["default"].base_model_name_or_path = model_id
    torch.manual_seed(args.seed)

    encoded = [encode_example(tokenizer, ex, args.max_length, args.max_answer_tokens) for ex in examples]
    per_step = args.batch_size * args.grad_accum
    steps_per_epoch = math.ceil(len(encoded) / per_step)
    total_steps = max(1, math.ceil(steps_per_epoch * args.epochs))
    if args.max_steps:
        total_steps = min(total_steps, args.max_steps)
    params = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=args.learning_rate, weight_decay=args.weight_decay)

    def lr_at(step: int) -> float:
        if step < args.warmup_steps:
            return args.learning_rate * (step + 1) / args.warmup_steps
        frac = (step - args.warmup_steps) / max(1, total_steps - args.warmup_steps)
        return args.learning_rate * 0.5 * (1 + math.cos(math.pi * min(1.0, frac)))

    ckpt = output / "checkpoint"
    state = {"step": 0, "losses": [], "seconds": 0.0}
    if resume and (ckpt / "trainer_state.json").exists():
        state = json.loads((ckpt / "trainer_state.json").read_text())
        set_peft_model_state_dict(model, load_file(str(ckpt / "adapter_model.safetensors")))
        optim.load_state_dict(torch.load(ckpt / "optimizer.pt", weights_only=True))
        log(f"resuming from step {state['step']} of {total_steps}")

    # A fixed order per epoch, so a resumed run sees the same batches it would have seen.
    def batch_at(step: int, micro: int) -> list[dict]:
        epoch, within = divmod(step, steps_per_epoch)
        order = list(range(len(encoded)))
        random.Random(args.seed + epoch).shuffle(order)
        start = (within * args.grad_accum + micro) * args.batch_size
        return [encoded[j] for j in order[start:start + args.batch_size]]

    provenance = {
        "format": "mhdash-lora-1",
        "base": {"model_id": model_id, "architecture": type(base).__name__,
                 "hidden_size": base.config.hidden_size, "num_hidden_layers": base.config.num_hidden_layers,
                 "vocab_size": base.config.vocab_size},
        "args": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(args).items()},
        "data": [str(p) for p in ([data] if isinstance(data, (str, Path)) else data)],
        "examples": len(encoded),
        "examples_per_task": _count(examples, "task"),
        "label_priors": label_priors(every, examples),
        "prompt_format": {"separator": ANSWER_SEPARATOR, "reasoning_marker": REASONING},
        "total_steps": total_steps,
    }

    def save(final: bool) -> None:
        output.mkdir(parents=True, exist_ok=True)
        ckpt.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(ckpt)
        torch.save(optim.state_dict(), ckpt / "optimizer.pt")
        (ckpt / "trainer_state.json").write_text(json.dumps(state))
        model.save_pretrained(output)
        prov = {**provenance, "steps_done": state["step"], "finished": final,
                "train_loss_last": (sum(state["losses"][-10:]) / max(1, len(state["losses"][-10:])))
                if state["losses"] else None,
                "loss_history": state["losses"], "train_seconds": round(state["seconds"], 1)}
        (output / PROVENANCE_FILE).write_text(json.dumps(prov, indent=2))

    model.train()
    bar = tqdm(total=total_steps, initial=state["step"], desc="train-lora", disable=not progress, mininterval=5)
    pad = tokenizer.pad_token_id
    while state["step"] < total_steps:
        t0 = time.time()
        step = state["step"]
        for group in optim.param_groups:
            group["lr"] = lr_at(step)
        optim.zero_grad(set_to_none=True)
        total = 0.0
        for micro in range(args.grad_accum):
            batch = batch_at(step, micro)
            if not batch:
                continue
            ids, attn, labels, lmask = (t.to(model.device) for t in _collate(batch, pad))
            positions = (attn.cumsum(-1) - 1).clamp(min=0)  # as if unpadded, like at inference
            # Answers sit at the end; computing logits only there skips most of the lm_head work.
            keep = int((labels != -100).sum(-1).max()) + 1
            logits = model(input_ids=ids, attention_mask=attn, position_ids=positions, logits_to_keep=keep).logits
            loss = weighted_lm_loss(logits, labels[:, -keep:], lmask[:, -keep:], args.label_weight) / args.grad_accum
            loss.backward()
            total += loss.item()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optim.step()
        state["step"] += 1
        state["losses"].append(round(total, 4))
        state["seconds"] += time.time() - t0
        bar.update(1)
        bar.set_postfix(loss=f"{total:.3f}")
        if state["step"] % args.save_every == 0 or state["step"] == total_steps:
            save(final=state["step"] == total_steps)
    bar.close()
    model.eval()
    return json.loads((output / PROVENANCE_FILE).read_text())


def label_priors(population: list[dict], trained: list[dict]) -> dict:
    """Per task: each label's share in the full data ("natural") and in the examples trained on ("trained").

    Subsampling balances labels, which shifts the adapter's implicit prior; scoring adds
    log(natural / trained) back (a Bayes prior-shift correction using training data only)."""
    out: dict = {}
    for name, rows in (("natural", population), ("trained", trained)):
        for ex in rows:
            out.setdefault(ex["task"], {"natural": {}, "trained": {}})[name][ex["label"]] = \
                out.setdefault(ex["task"], {"natural": {}, "trained": {}})[name].get(ex["label"], 0) + 1
    for stats in out.values():
        for name in ("natural", "trained"):
            total = sum(stats[name].values()) or 1
            stats[name] = {k: round(v / total, 6) for k, v in stats[name].items()}
    return out


def _count(rows: list[dict], key: str) -> dict:
    out: dict = {}
    for r in rows:
        out[r[key]] = out.get(r[key], 0) + 1
    return out
