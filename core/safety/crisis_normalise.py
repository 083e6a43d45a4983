"""Normalisation before the crisis rules match: the text as a reader sees it, with offsets into the original.

NFKC, accents and zero-width characters removed, Unicode look-alikes
(Cyrillic/Greek letters inside Latin words) mapped to Latin, digits used as
letters ("su1c1de") read as letters, letter-spaced words ("k i l l myself",
"s-u-i-c-i-d-e") joined, runs of a repeated letter shortened ("dieeee").
Every normalised character keeps the offset of the original character it came
from, so matches point into the original text.
"""

from __future__ import annotations

import re
import unicodedata

_ZERO_WIDTH = {"\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\u2061", "\u2062", "\u2063",
               "\u2064", "\ufeff", "\u00ad", "\u180e", "\u034f"}
# Look-alike letters (Cyrillic, Greek, IPA) mapped to the Latin letter they imitate.
_CONFUSABLES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "һ": "h", "ӏ": "l", "ɡ": "g", "ɩ": "i", "ɪ": "i", "ʟ": "l", "ɑ": "a", "ο": "o", "α": "a", "ι": "i",
    "ν": "v", "κ": "k", "τ": "t", "ε": "e", "ρ": "p", "υ": "u", "χ": "x", "ѵ": "v", "ԍ": "g", "ɛ": "e",
    "‘": "'", "’": "'", "ʼ": "'", "`": "'", "´": "'",
})
_LEET = {"1": "i", "3": "e", "0": "o", "4": "a", "5": "s", "@": "a", "7": "t"}
_SPACED = re.compile(r"(?<![\w'])([a-z])(?:[ .\-_*·]{1,2}[a-z]){2,}(?![\w'])")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_LEET_WORD = re.compile(r"(?<![\w@])(?=[\w@]*[a-z][\w@]*[a-z])(?=[\w@]*[013457@])[a-z013457@]{3,}(?![\w@])")


def normalise(text: str) -> tuple[str, list[int]]:
    """(normalised text, offset of the original character behind each normalised character)."""
    chars: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        if ch in _ZERO_WIDTH:
            continue
        for c in unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", ch)):
            if unicodedata.combining(c) or c in _ZERO_WIDTH:
                continue
            for low in c.translate(_CONFUSABLES).lower():
                if not unicodedata.combining(low):
                    chars.append(low)
                    where.append(i)
    norm = "".join(chars)

    def rebuild(pattern: re.Pattern, repl) -> None:
        nonlocal norm, where
        out, out_where, pos = [], [], 0
        for m in pattern.finditer(norm):
            out.append(norm[pos:m.start()])
            out_where.extend(where[pos:m.start()])
            new, new_where = repl(m)
            out.append(new)
            out_where.extend(new_where)
            pos = m.end()
        out.append(norm[pos:])
        out_where.extend(where[pos:])
        norm, where = "".join(out), out_where

    def leet(m):  # "su1c1de" -> "suicide"; pure numbers ("24/7", "5mg") never reach here
        return "".join(_LEET.get(c, c) for c in m.group(0)), where[m.start():m.end()]

    def spaced(m):  # "k i l l" -> "kill"; "I k i l l" -> "i kill" (a leading "I" or "a" is a word of its own)
        keep = [j for j in range(m.start(), m.end()) if norm[j].isalpha()]
        if norm[keep[0]] in "ia" and len(keep) >= 4:
            return (norm[keep[0]] + " " + "".join(norm[j] for j in keep[1:]),
                    [where[keep[0]], where[keep[0] + 1]] + [where[j] for j in keep[1:]])
        return "".join(norm[j] for j in keep), [where[j] for j in keep]

    def repeats(m):  # "dieeee" -> "die", "killlll" -> "kil" (the patterns accept "kil")
        return m.group(1), [where[m.start()]]

    rebuild(_LEET_WORD, leet)
    rebuild(_SPACED, spaced)
    rebuild(_REPEATS, repeats)
    return norm, where

