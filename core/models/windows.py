"""Token windows: long notes are scored in overlapping windows and averaged, never truncated."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

from core.errors import ModelUnavailable

WINDOW_OVERLAP = 0.25  # fraction of a window shared with the next one
INFER_BATCH = 32


# ----------------------------------------------------------------------------- windows

def special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """(prefix, suffix) special ids the tokenizer wraps a single text in ([CLS] .. [SEP], <s> .. </s>).

    Read off an encoded probe word, because transformers 5 tokenizers no longer
    all expose build_inputs_with_special_tokens.
    """
    cached = getattr(tokenizer, "_mhd_specials", None)
    if cached is not None:
        return cached
    bare = tokenizer("hello", add_special_tokens=False)["input_ids"]
    full = tokenizer("hello")["input_ids"]
    for i in range(len(full) - len(bare) + 1):
        if full[i:i + len(bare)] == bare:
            cached = (full[:i], full[i + len(bare):])
            break
    else:
        raise ModelUnavailable("Cannot work out this tokenizer's special tokens")
    tokenizer._mhd_specials = cached
    return cached


def wrap(tokenizer, ids: list[int]) -> list[int]:
    prefix, suffix = special_tokens(tokenizer)
    return [*prefix, *ids, *suffix]


def window_content(tokenizer, max_length: int) -> int:
    prefix, suffix = special_tokens(tokenizer)
    return max_length - len(prefix) - len(suffix)


def windows_for(tokenizer, ids: list[int], max_length: int) -> list[list[int]]:
    """Overlapping windows (with special tokens) covering every token; never truncates."""
    content = window_content(tokenizer, max_length)
    if content < 8:
        raise ValueError(f"max_length {max_length} is too short for windows")
    step = max(1, int(content * (1 - WINDOW_OVERLAP)))
    starts = [0]
    while starts[-1] + content < len(ids):
        starts.append(starts[-1] + step)
    return [wrap(tokenizer, ids[s:s + content]) for s in starts]


def pad_batch(seqs: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad to the longest sequence of this batch (dynamic padding)."""
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, :len(s)] = 1
    return ids, mask


# A batch holds sequences at most this much longer than its shortest: a long note's short last window runs on its
# own instead of being padded to a full window (attention is computed over the padding too).
BATCH_LENGTH_SPREAD = 1.3


def length_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Indices in ascending length, cut into batches of at most batch_size whose lengths stay within the spread."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    for i in order:
        if (not batches or len(batches[-1]) >= batch_size
                or lengths[i] > BATCH_LENGTH_SPREAD * lengths[batches[-1][0]] + 8):
            batches.append([])
        batches[-1].append(i)
    return batches
