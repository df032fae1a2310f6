"""Cheap hand features of a prompt's shape that predict how hard it is.

Each is a count or share scaled to roughly [0, 1] on ordinary prompts, so a linear model needs
no standardisation. All are C-speed string operations (``str.count``, ``bytes.translate``), a few
microseconds for a 2,000-token prompt.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

SHAPE_NAMES = (
    "log_chars",
    "log_lines",
    "digit_share",
    "math_share",
    "code_markers",
    "math_markers",
    "questions",
    "choices",
    "non_ascii_share",
)

_DIGITS = b"0123456789"
_MATH_CHARS = b"=+*/^<>%"
_CODE = ("```", "def ", "return ", "import ", "();", "{\n", "==", "    ", "#include", "function ")
_MATH = ("\\frac", "\\sqrt", "$", "\\(", "^2", "sqrt", "equation", "integer", "solve")
_CHOICE = re.compile(r"^\s*\(?[A-Ea-e][).:] ", re.MULTILINE)


def shape_features(texts: Sequence[str]) -> np.ndarray:
    """Float32 ``(len(texts), len(SHAPE_NAMES))``, columns in ``SHAPE_NAMES`` order."""
    rows = list(map(_shape, texts))
    return np.array(rows, dtype=np.float32).reshape(len(texts), len(SHAPE_NAMES))


def _shape(text: str) -> tuple[float, ...]:
    raw = text.encode("utf-8", "surrogatepass")
    chars = max(len(text), 1)
    lower = text.lower()
    return (
        math.log1p(len(text)) / 9.0,
        math.log1p(text.count("\n")) / 5.0,
        _share(raw, _DIGITS, chars) * 5.0,
        _share(raw, _MATH_CHARS, chars) * 10.0,
        math.log1p(sum(map(text.count, _CODE))) / 4.0,
        math.log1p(sum(map(lower.count, _MATH))) / 3.0,
        math.log1p(text.count("?")) / 2.0,
        min(len(_CHOICE.findall(text)), 10) / 5.0,
        (len(raw) - len(text)) / chars,
    )


def _share(raw: bytes, alphabet: bytes, chars: int) -> float:
    return (len(raw) - len(raw.translate(None, alphabet))) / chars
