"""Votes: what the answers of the models called so far say, as numbers an acceptance check reads.

Each called model votes for its final answer (``answers.AnswerTable`` keys) with a weight, the
log-odds of its training accuracy, so two weak models agreeing can outvote a strong one only
when that is what their accuracies say. The answer with the most weight wins, and the strongest
model that gave it is the one whose reply is returned. With no comparable answers at all (code,
prose) the strongest called model is returned and the vote says nothing.

This is also where self-consistency lives: several answers to one prompt, compared. The
outcomes data holds one reply per model, so the answers compared are those of different models
(three hosts of the same Llama-3.1-405B weights come closest to samples of one model). A
verifier model's judgement would be one more column of ``signals``; no outcomes source records
one, so none is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from slicewise.routing.answers import KINDS, AnswerTable

SIGNALS = ("support", "agreeing", "all_agree", "parsed", "distinct", *(f"kind_{k}" for k in KINDS))
"""Names of the vote columns of ``signals``, before the prompt's shape features."""


def weights(accuracy: np.ndarray) -> np.ndarray:
    """Vote weight per model: log-odds of its accuracy, floored so every model counts a little."""
    p = np.clip(np.nan_to_num(accuracy, nan=0.5), 0.02, 0.995)
    return np.asarray(np.maximum(np.log(p / (1 - p)), 0.05))


@dataclass(frozen=True, eq=False)
class Vote:
    """The outcome of a vote on some prompts: returned model and the columns of ``SIGNALS``."""

    winner: np.ndarray
    signals: np.ndarray


def vote(answers: AnswerTable, called: Sequence[int], weight: np.ndarray, rows: np.ndarray) -> Vote:
    """The vote among models ``called`` on prompts ``rows``."""
    cols = np.asarray(called, dtype=np.int64)
    keys = answers.keys[np.ix_(rows, cols)]
    w = weight[cols]
    parsed = keys >= 0
    same = (keys[:, :, None] == keys[:, None, :]) & parsed[:, :, None]
    backing = (same * w[None, None, :]).sum(axis=2)  # weight behind each model's answer
    pick = np.argmax(backing + 1e-6 * w[None, :], axis=1)
    at = np.arange(len(rows))
    total = w.sum()
    agreeing = same[at, pick].sum(axis=1) / len(cols)
    kinds = answers.kinds[rows, cols[pick]]
    signals = np.column_stack(
        [
            backing[at, pick] / total,
            agreeing,
            (agreeing == 1.0) & parsed.all(axis=1),
            parsed.mean(axis=1),
            _distinct(keys, parsed) / len(cols),
            kinds[:, None] == np.arange(len(KINDS))[None, :],
        ]
    ).astype(np.float64)
    return Vote(cols[pick], signals)


def _distinct(keys: np.ndarray, parsed: np.ndarray) -> np.ndarray:
    """Number of different comparable answers per row."""
    ordered = np.sort(np.where(parsed, keys, -1), axis=1)
    changes = (np.diff(ordered, axis=1) != 0) & (ordered[:, 1:] >= 0)
    return np.asarray(changes.sum(axis=1) + (ordered[:, :1] >= 0).sum(axis=1))
