"""Cascades: stages of models, an acceptance check after each, escalation when it fails.

A ``Cascade`` calls the models of its first stage in parallel, asks the acceptance check of the
models called so far how likely the answer they would return is right, returns it when that
probability reaches ``threshold``, and otherwise calls the next stage. The last stage always
returns: the answer with the most vote weight among every answer collected (the last model's,
unless earlier models outweigh it).

A decision's cost is the sum of every call it made; its quality is the score of the returned
answer. ``execute`` runs a cascade over a batch of prompts whose replies are known (offline,
replies recorded; live, each stage's replies arrive before the next is decided).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Probe = Callable[[tuple[int, ...], np.ndarray], tuple[np.ndarray, np.ndarray]]
"""(called models, prompt rows) -> (acceptance probability, returned model) per row."""


@dataclass(frozen=True)
class Cascade:
    """Model indices per stage, and the acceptance probability that stops the cascade."""

    stages: tuple[tuple[int, ...], ...]
    threshold: float

    def called(self, stage: int) -> tuple[int, ...]:
        """Every model called up to and including ``stage``, in a fixed order."""
        return tuple(sorted({m for s in self.stages[: stage + 1] for m in s}))

    def name(self, models: Sequence[str]) -> str:
        stages = " > ".join("+".join(models[m] for m in stage) for stage in self.stages)
        return f"cascade[{stages}]@{self.threshold:g}"

    def as_dict(self, models: Sequence[str]) -> dict[str, object]:
        return {
            "stages": [[models[m] for m in stage] for stage in self.stages],
            "threshold": self.threshold,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, object], models: Sequence[str]) -> Cascade:
        stages = raw["stages"]
        assert isinstance(stages, list)
        return cls(
            tuple(tuple(models.index(m) for m in stage) for stage in stages),
            float(raw["threshold"]),  # type: ignore[arg-type]
        )


@dataclass(frozen=True, eq=False)
class Execution:
    """Per prompt: the returned model and the last stage called."""

    accepted: np.ndarray
    depth: np.ndarray

    def calls(self, cascade: Cascade, row: int) -> list[list[int]]:
        return [list(stage) for stage in cascade.stages[: int(self.depth[row]) + 1]]


def execute(cascade: Cascade, rows: int, probe: Probe) -> Execution:
    """Run ``cascade`` on ``rows`` prompts; ``probe`` answers for the prompts still open."""
    accepted = np.zeros(rows, np.int64)
    depth = np.full(rows, len(cascade.stages) - 1, np.int64)
    open_rows = np.arange(rows)
    for stage in range(len(cascade.stages)):
        if open_rows.size == 0:
            break
        probability, winner = probe(cascade.called(stage), open_rows)
        last = stage == len(cascade.stages) - 1
        stop = np.ones(open_rows.size, bool) if last else probability >= cascade.threshold
        accepted[open_rows[stop]] = winner[stop]
        depth[open_rows[stop]] = stage
        open_rows = open_rows[~stop]
    return Execution(accepted, depth)


def spent(cascade: Cascade, execution: Execution, costs: np.ndarray) -> np.ndarray:
    """Cost per prompt: every call of every stage reached (``costs`` is ``(prompts, models)``)."""
    total = np.zeros(len(costs))
    for stage, models in enumerate(cascade.stages):
        reached = execution.depth >= stage
        total += np.where(reached, costs[:, list(models)].sum(axis=1), 0.0)
    return total


def reach(cascade: Cascade, execution: Execution) -> np.ndarray:
    """``(prompts, stages - 1)``: 1 where the prompt went on to stage 2, 3, ..."""
    return np.column_stack([execution.depth >= s for s in range(1, len(cascade.stages))]).astype(
        np.float64
    )
