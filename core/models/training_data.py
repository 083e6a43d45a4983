"""Training data for the heads: reading CSV/Parquet/JSONL, column mapping, validation, the seeded split.

Every check names the file, row and column at fault, so a bad dataset stops before any training.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import ConfigError, DataError
from core.models.heads import HEADS

TEXT_COLUMN = "text"
TARGET_COLUMNS = [h.target_column for h in HEADS]


def _decode_check(path: Path) -> None:
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise DataError(f"{path}: line {line} is not valid UTF-8 (byte {exc.start}); save the file as UTF-8") from exc


def read_table(path: Path) -> pd.DataFrame:
    """CSV, Parquet or JSONL into a frame; DataError for missing, unreadable or non-UTF-8 files."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Data file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        _decode_check(path)
        if suffix in (".jsonl", ".ndjson"):
            return pd.read_json(path, lines=True)
        if suffix in (".csv", ".tsv"):
            return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    except DataError:
        raise
    except Exception as exc:  # pandas/pyarrow raise many types for a corrupt file
        raise DataError(f"{path}: cannot read as {suffix[1:]}: {exc}") from exc
    raise DataError(f"{path}: unsupported file type {suffix!r}; use .csv, .parquet or .jsonl")


def parse_column_map(spec: str | None) -> dict[str, str]:
    """'src=dst,src2=dst2' -> {src: dst}."""
    out = {}
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ConfigError(f"--column-map entries look like source=target; got {part!r}")
        src, dst = (p.strip() for p in part.split("=", 1))
        out[src] = dst
    return out


def _as_binary(value, row: int, column: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    text = str(value).strip().lower()
    if text in ("1", "1.0", "true", "yes"):
        return 1
    if text in ("0", "0.0", "false", "no"):
        return 0
    raise DataError(f"row {row}, column {column}: {value!r} is not 0/1")


def validate_frame(df: pd.DataFrame, source: str = "data") -> pd.DataFrame:
    """Checked copy with the schema's columns; DataError names the first bad row and column.

    Rows are numbered from 1 in file order (the header is not a row).
    """
    missing = [c for c in [TEXT_COLUMN, *TARGET_COLUMNS] if c not in df.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, df.columns))}. "
                        f"Use --column-map source=target to rename.")
    if len(df) == 0:
        raise DataError(f"{source}: the dataset is empty")
    out = pd.DataFrame(index=range(len(df)))
    texts = []
    for i, t in enumerate(df[TEXT_COLUMN].tolist(), start=1):
        if not isinstance(t, str) or not t.strip():
            raise DataError(f"{source}: row {i}, column text: empty or missing text")
        texts.append(t)
    out[TEXT_COLUMN] = texts
    for spec in HEADS:
        col = spec.target_column
        values = []
        for i, v in enumerate(df[col].tolist(), start=1):
            if v is None or (isinstance(v, float) and math.isnan(v)):
                raise DataError(f"{source}: row {i}, column {col}: missing value (NaN)")
            if spec.kind == "binary":
                values.append(float(_as_binary(v, i, col)))
                continue
            try:
                x = float(v)
            except (TypeError, ValueError):
                raise DataError(f"{source}: row {i}, column {col}: {v!r} is not a number") from None
            if not math.isfinite(x):
                raise DataError(f"{source}: row {i}, column {col}: {v!r} is not finite")
            if not spec.low <= x <= spec.high:
                raise DataError(f"{source}: row {i}, column {col}: {x:g} is outside {spec.low:g}..{spec.high:g}")
            values.append(x)
        out[col] = values
    return out


def load_training_data(path: Path | None, column_map: dict[str, str] | None = None, *,
                       synthetic_rows: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """The checked frame and a description of where it came from."""
    if path is None:
        from core.synthetic.sessions import generate

        df = generate(synthetic_rows, seed=seed)
        source = {"source": "synthetic", "generator": "core.synthetic.sessions.generate", "rows": synthetic_rows, "seed": seed}
        return validate_frame(df, "synthetic data"), source
    raw = read_table(Path(path))
    if column_map:
        unknown = [c for c in column_map if c not in raw.columns]
        if unknown:
            raise DataError(f"{path}: --column-map names column(s) not in the file: {', '.join(unknown)}")
        raw = raw.rename(columns=column_map)
    return validate_frame(raw, str(path)), {"source": str(path), "rows": len(raw)}


def fingerprint(df: pd.DataFrame) -> str:
    h = hashlib.sha256()
    h.update(df[[TEXT_COLUMN, *TARGET_COLUMNS]].to_csv(index=False).encode("utf-8"))
    return h.hexdigest()


def split_indices(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded 70/15/15 split; each part gets at least one row when n >= 3."""
    if n < 3:
        raise DataError(f"need at least 3 rows for a train/val/test split; got {n}")
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, round(0.15 * n))
    n_test = max(1, round(0.15 * n))
    n_train = n - n_val - n_test
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]


