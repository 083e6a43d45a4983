"""A heads version's reference outputs: per head, a sample of its values on a reference corpus.

Every training run saves one beside the checkpoint (its outputs on the held-out split); drift monitoring
compares recent outputs with it. ``build_reference`` imports the encoder only when it runs.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from core.errors import ModelUnavailable, ValidationError
from core.models import registry as model_registry

REFERENCE_FILE = "reference.json"
REFERENCE_SAMPLE = 2000   # values kept per head in reference.json


def save_reference(version_dir: Path, values: dict[str, list[float]], source: str) -> Path:
    """Write ``reference.json`` into a heads version folder: per head, a sorted sample of its values."""
    import numpy as np

    rng = np.random.default_rng(0)
    heads = {}
    for name, vals in values.items():
        arr = np.asarray(vals, dtype=float)
        arr = arr[np.isfinite(arr)]
        if arr.size > REFERENCE_SAMPLE:
            arr = rng.choice(arr, REFERENCE_SAMPLE, replace=False)
        heads[name] = sorted(round(float(v), 6) for v in arr)
    if not heads or not any(heads.values()):
        raise ValidationError("A reference distribution needs values for at least one head")
    path = Path(version_dir) / REFERENCE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"created_at": datetime.now(UTC).isoformat(timespec="seconds"), "source": source,
                               "n": max(len(v) for v in heads.values()), "heads": heads}), encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_reference(heads_dir: Path, version: str) -> dict | None:
    path = Path(heads_dir) / version / REFERENCE_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"{path} is unreadable: {exc}") from exc


def build_reference(settings, version: str | None = None, *, texts: list[str] | None = None, n: int = 400,
                    seed: int = 12345, encoder=None) -> Path:
    """Score a reference corpus with a heads version and save it as that version's reference.

    Default corpus: ``n`` texts from the project's seeded synthetic session generator
    (a seed the training split does not use), the same texts for every version.
    """

    version = model_registry.resolve_version(settings.heads_dir, version or settings.heads_version)
    source = "given texts"
    if texts is None:
        from core.synthetic.sessions import generate

        texts = generate(n=n, seed=seed)["text"].tolist()
        source = f"synthetic sessions (data/sessions.py), n={n}, seed={seed}"
    if encoder is None or encoder.version != version:
        from core.models.encoder import load_encoder

        encoder = load_encoder(settings.replace(heads_version=version))
    from core.models.encoder import score_texts

    results = score_texts(encoder, texts)
    values: dict[str, list[float]] = {}
    for r in results:
        for name, h in r["heads"].items():
            values.setdefault(name, []).append(h["value"])
    return save_reference(Path(settings.heads_dir) / version, values, source)


