"""What a router learned from, kept in its file: each model's score and cost per prompt.

``slicewise check`` compares new outcomes with this record, prompt by prompt, to tell whether a
model got worse since training. Prompts are kept as 64-bit hashes of their ids, not as text, so
a router file does not carry the training prompts. About 8 bytes per prompt and model.
Router files written before the record existed have none; ``check`` then asks for the training
outcomes file instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from slicewise.outcomes import Outcomes


def hash_ids(ids: Sequence[str]) -> np.ndarray:
    """A stable 64-bit hash of each prompt id."""
    digests = (hashlib.blake2b(i.encode(), digest_size=8).digest() for i in ids)
    return np.frombuffer(b"".join(digests), dtype="<u8").copy()


@dataclass(frozen=True, eq=False)
class Record:
    """Scores and costs ``(prompts, models)``, NaN where a model has no outcome."""

    models: tuple[str, ...]
    ids: np.ndarray
    scores: np.ndarray
    costs: np.ndarray

    @classmethod
    def of(cls, outcomes: Outcomes) -> Record:
        return cls(
            outcomes.models,
            hash_ids(outcomes.ids),
            outcomes.scores.astype(np.float32),
            outcomes.costs.astype(np.float32),
        )

    def tensors(self) -> dict[str, np.ndarray]:
        return {"ids": self.ids, "scores": self.scores, "costs": self.costs}

    @classmethod
    def restore(cls, models: Sequence[str], tensors: dict[str, np.ndarray]) -> Record:
        return cls(tuple(models), tensors["ids"], tensors["scores"], tensors["costs"])

    def rows(self, ids: Sequence[str]) -> np.ndarray:
        """Position of each of ``ids`` in the record, -1 where it is not there."""
        where = {int(h): i for i, h in enumerate(self.ids)}
        return np.array([where.get(int(h), -1) for h in hash_ids(ids)], dtype=np.int64)

    def with_model(
        self, name: str, ids: Sequence[str], scores: np.ndarray, costs: np.ndarray
    ) -> Record:
        """The record with ``name``'s column replaced by (or extended with) these outcomes."""
        models = [m for m in self.models if m != name]
        keep = [self.models.index(m) for m in models]
        rows = self.rows(ids)
        new = rows < 0
        total = len(self.ids) + int(new.sum())
        at = rows.copy()
        at[new] = np.arange(len(self.ids), total)
        grid = {}
        for key, old, column in (("scores", self.scores, scores), ("costs", self.costs, costs)):
            table = np.full((total, len(models) + 1), np.nan, np.float32)
            table[: len(self.ids), :-1] = old[:, keep]
            table[at, -1] = column
            grid[key] = table
        all_ids = np.concatenate([self.ids, hash_ids(ids)[new]])
        return Record((*models, name), all_ids, grid["scores"], grid["costs"])
