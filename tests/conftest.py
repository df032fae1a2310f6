"""Shared fixtures: small outcomes files the tests build themselves, and the shared data."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

EASY = [
    "Translate the sentence '{w} is on the table' into French.",
    "What is the capital of {w}? Answer in one word.",
    "Tag this support email as billing or shipping: my {w} order never arrived.",
    "Extract the date from this contract: signed in {w} on 3 March 2021.",
]
HARD = [
    "Prove that the integral of {w}(x) over the unit sphere is invariant under rotation.",
    "Write a Python function that computes the {w} transform of a sparse matrix in O(n log n).",
    "Solve: a train leaves {w} at 3pm at 80 km/h; another at 4pm at 120 km/h. When do they meet?",
    "Derive the closed form of the recurrence T(n) = 3T(n/{w}) + n^2 and justify each step.",
]
WORDS = [
    "Paris",
    "Kenya",
    "Fourier",
    "Laplace",
    "Oslo",
    "Peru",
    "Hilbert",
    "Chile",
    "Lima",
    "Cairo",
    "Quito",
    "Riga",
    "Bern",
    "Dublin",
    "Hanoi",
    "Seoul",
]
MODELS = {"small": (0.1, 0.1), "medium": (0.5, 0.5), "large": (5.0, 10.0)}


def synthetic_rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Prompts where the small model handles the easy half and only large the hard half."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        hard = i % 2 == 1
        text = rng.choice(HARD if hard else EASY).format(w=rng.choice(WORDS))
        p = {
            "small": 0.1 if hard else 0.9,
            "medium": 0.5 if hard else 0.92,
            "large": 0.95,
        }
        outcomes = {}
        for model, (price_in, price_out) in MODELS.items():
            tokens = len(text) // 4
            outcomes[model] = {
                "score": float(rng.random() < p[model]),
                "cost_usd": (tokens * price_in + 100 * price_out) / 1e6,
                "input_tokens": tokens,
                "output_tokens": 100,
                "response": None,
            }
        rows.append(
            {
                "id": f"p{i}",
                "task": "hard" if hard else "easy",
                "messages": [{"role": "user", "content": text}],
                "reference": None,
                "outcomes": outcomes,
            }
        )
    return rows


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


@pytest.fixture
def outcomes_file(tmp_path: Path) -> Callable[..., Path]:
    def make(n: int = 200, seed: int = 0, name: str = "outcomes.jsonl") -> Path:
        return write_jsonl(tmp_path / name, synthetic_rows(n, seed))

    return make


@pytest.fixture
def shared_source() -> Callable[[str], Path]:
    def find(source: str) -> Path:
        path = SHARED / source / "dev.jsonl"
        if not path.is_file():
            pytest.skip(f"{path} is absent: the shared outcomes data is not on this machine")
        return path

    return find
