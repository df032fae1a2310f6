"""Outcomes: per-prompt, per-model results that routers learn from and are judged on.

The interchange format is JSONL, one prompt per line::

    {"id": "...", "task": "...", "messages": [{"role": "user", "content": "..."}],
     "reference": "..." | null,
     "outcomes": {"MODEL": {"score": 0..1, "cost_usd": >=0, "input_tokens": int | null,
                            "output_tokens": int | null, "response": str | null}}}

A ``models.json`` beside the file, when present, supplies the model cards (prices).

Irregular rows are handled, not rejected: a model may be missing from some rows (its
cells are NaN; it is trained on the rows that have it, and evaluation keeps only prompts
every compared model answered), and a row with no outcomes at all is kept as a prompt but
carries no training signal. Each such case is counted in ``Outcomes.notes``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np
import orjson

from slicewise.cards import ModelCard
from slicewise.errors import DataError

Messages = tuple[tuple[str, str], ...]
"""Chat turns as ``(role, content)`` pairs."""

ROLES = ("system", "user", "assistant", "developer", "tool")
MAX_PROBLEMS = 20


@dataclass(frozen=True, eq=False)
class Prompt:
    id: str
    messages: Messages
    responses: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Outcomes:
    """A table of prompts by models; ``scores`` and ``costs`` are NaN where missing."""

    path: str
    fingerprint: str
    ids: tuple[str, ...]
    tasks: tuple[str, ...]
    messages: tuple[Messages, ...]
    references: tuple[str | None, ...]
    models: tuple[str, ...]
    scores: np.ndarray
    costs: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray
    responses: tuple[dict[str, str], ...]
    cards: dict[str, ModelCard]
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, rows: Sequence[int] | np.ndarray) -> Outcomes:
        """The same table restricted to ``rows`` (positions), in that order."""
        idx = np.asarray(rows, dtype=np.int64)
        pick = idx.tolist()
        return replace(
            self,
            ids=tuple(self.ids[i] for i in pick),
            tasks=tuple(self.tasks[i] for i in pick),
            messages=tuple(self.messages[i] for i in pick),
            references=tuple(self.references[i] for i in pick),
            scores=self.scores[idx],
            costs=self.costs[idx],
            input_tokens=self.input_tokens[idx],
            output_tokens=self.output_tokens[idx],
            responses=tuple(self.responses[i] for i in pick),
        )

    def complete(self) -> Outcomes:
        """Only the prompts that every model answered (scores and costs both known)."""
        known = ~np.isnan(self.scores).any(axis=1) & ~np.isnan(self.costs).any(axis=1)
        return self.take(np.flatnonzero(known))

    def select_models(self, models: Sequence[str]) -> Outcomes:
        """The same prompts with only ``models``, in that order."""
        cols = [self.models.index(m) for m in models]
        return replace(
            self,
            models=tuple(models),
            scores=self.scores[:, cols],
            costs=self.costs[:, cols],
            input_tokens=self.input_tokens[:, cols],
            output_tokens=self.output_tokens[:, cols],
            cards={m: self.cards[m] for m in models if m in self.cards},
        )


def load_outcomes(path: str | Path) -> Outcomes:
    """Read and validate an outcomes JSONL file; raise ``DataError`` naming every problem."""
    path = Path(path)
    data = _read_bytes(path)
    rows = _parse_rows(path, data, need_outcomes=True)
    return _tabulate(path, data, rows)


def concat(parts: Sequence[Outcomes]) -> Outcomes:
    """Several outcomes tables as one; models are the union, missing cells NaN."""
    if len(parts) == 1:
        return parts[0]
    models = tuple(dict.fromkeys(m for p in parts for m in p.models))
    n = sum(len(p) for p in parts)
    arrays = {k: np.full((n, len(models)), np.nan) for k in _ARRAYS}
    start = 0
    for part in parts:
        cols = [models.index(m) for m in part.models]
        for key in _ARRAYS:
            arrays[key][start : start + len(part), cols] = getattr(part, key)
        start += len(part)
    ids = [i for p in parts for i in p.ids]
    if len(set(ids)) != len(ids):
        raise DataError(
            " + ".join(p.path for p in parts),
            None,
            "id",
            "the same id appears in more than one file; ids must be unique",
        )
    return Outcomes(
        path=" + ".join(p.path for p in parts),
        fingerprint=hashlib.sha256("".join(p.fingerprint for p in parts).encode()).hexdigest(),
        ids=tuple(ids),
        tasks=tuple(t for p in parts for t in p.tasks),
        messages=tuple(m for p in parts for m in p.messages),
        references=tuple(r for p in parts for r in p.references),
        models=models,
        responses=tuple(r for p in parts for r in p.responses),
        cards={k: v for p in parts for k, v in p.cards.items()},
        notes=tuple(n for p in parts for n in p.notes),
        **arrays,
    )


def iter_prompts(path: str | Path) -> Iterator[Prompt]:
    """Prompts from a JSONL file with ``id`` and ``messages`` (outcomes, if any, ignored).

    Streams line by line, so a file of any size routes in constant memory; problems raise
    ``DataError`` at the first bad line.
    """
    path = Path(path)
    seen: set[str] = set()
    with _open(path) as handle:
        empty = True
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            empty = False
            obj = _json_object(path, number, raw)
            prompt = _prompt(path, number, obj)
            if prompt.id in seen:
                raise DataError(
                    path, number, "id", f"duplicate id {prompt.id!r}; ids must be unique"
                )
            seen.add(prompt.id)
            yield prompt
    if empty:
        raise DataError(path, None, None, "file is empty; expected one JSON object per line")


_ARRAYS = ("scores", "costs", "input_tokens", "output_tokens")


def _open(path: Path) -> Any:
    try:
        return path.open("rb")
    except OSError as exc:
        raise DataError(path, None, None, f"cannot read file: {exc.strerror}") from None


def _read_bytes(path: Path) -> bytes:
    with _open(path) as handle:
        data: bytes = handle.read()
    if not data.strip():
        raise DataError(path, None, None, "file is empty; expected one JSON object per line")
    return data


class _Problems:
    """Collects up to MAX_PROBLEMS problems so one run reports them all."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[DataError] = []

    def add(self, line: int | None, field_: str | None, problem: str) -> None:
        self.items.append(DataError(self.path, line, field_, problem))
        if len(self.items) >= MAX_PROBLEMS:
            self.raise_if_any()

    def raise_if_any(self) -> None:
        if not self.items:
            return
        if len(self.items) == 1:
            raise self.items[0]
        lines = [str(e) for e in self.items]
        more = " (stopped counting)" if len(self.items) >= MAX_PROBLEMS else ""
        first = self.items[0]
        raise DataError(
            self.path,
            first.line,
            first.field,
            first.problem + f"\n  ... {len(lines)} problems{more}:\n  " + "\n  ".join(lines),
        )


def _parse_rows(path: Path, data: bytes, need_outcomes: bool) -> list[tuple[int, dict[str, Any]]]:
    problems = _Problems(path)
    rows: list[tuple[int, dict[str, Any]]] = []
    first_line: dict[str, int] = {}
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            obj = _json_object(path, number, raw)
            _prompt(path, number, obj)
            if need_outcomes:
                _check_outcomes(path, number, obj)
        except DataError as exc:
            problems.add(exc.line, exc.field, exc.problem)
            continue
        key = obj["id"]
        if key in first_line:
            problems.add(
                number,
                "id",
                f"duplicate id {key!r} (first on line {first_line[key]}); "
                "ids must be unique within a file",
            )
            continue
        first_line[key] = number
        rows.append((number, obj))
    problems.raise_if_any()
    return rows


def _json_object(path: Path, number: int, raw: bytes) -> dict[str, Any]:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DataError(
            path, number, None, f"not valid JSON ({exc}); each line must be one JSON object"
        ) from None
    if not isinstance(obj, dict):
        raise DataError(path, number, None, f"expected a JSON object, got {type(obj).__name__}")
    return obj


def _prompt(path: Path, number: int, obj: dict[str, Any]) -> Prompt:
    key = obj.get("id")
    if not isinstance(key, str) or not key:
        raise DataError(path, number, "id", "missing or not a non-empty string")
    messages = obj.get("messages")
    if not isinstance(messages, list) or not messages:
        raise DataError(
            path,
            number,
            "messages",
            'missing or empty; a list of {"role", "content"} objects is required',
        )
    turns: list[tuple[str, str]] = []
    for i, turn in enumerate(messages):
        if not isinstance(turn, dict):
            raise DataError(
                path, number, f"messages[{i}]", "expected an object with role and content"
            )
        role, content = turn.get("role"), turn.get("content")
        if role not in ROLES:
            raise DataError(
                path,
                number,
                f"messages[{i}].role",
                f"{role!r} is not allowed; use one of {', '.join(ROLES)}",
            )
        if not isinstance(content, str):
            raise DataError(path, number, f"messages[{i}].content", "expected a string")
        turns.append((role, content))
    responses = obj.get("responses")
    if responses is None:
        responses = {
            m: o["response"]
            for m, o in (obj.get("outcomes") or {}).items()
            if isinstance(o, dict) and isinstance(o.get("response"), str)
        }
    elif not isinstance(responses, dict) or not all(isinstance(v, str) for v in responses.values()):
        raise DataError(path, number, "responses", "expected an object of model -> answer text")
    return Prompt(key, tuple(turns), responses)


def _check_outcomes(path: Path, number: int, obj: dict[str, Any]) -> None:
    outcomes = obj.get("outcomes")
    if not isinstance(outcomes, dict):
        raise DataError(
            path, number, "outcomes", "missing or not an object of model -> {score, cost_usd}"
        )
    for model, result in outcomes.items():
        where = f"outcomes.{model}"
        if not isinstance(result, dict):
            raise DataError(path, number, where, "expected an object with score and cost_usd")
        score = result.get("score")
        if not _number(score) or not 0.0 <= score <= 1.0:
            raise DataError(
                path,
                number,
                f"{where}.score",
                f"{score!r} is not allowed; a number in [0, 1] is required",
            )
        cost = result.get("cost_usd")
        if cost is None:
            raise DataError(
                path,
                number,
                f"{where}.cost_usd",
                "missing; the call's cost in USD (a number >= 0) is required",
            )
        if not _number(cost) or cost < 0:
            raise DataError(
                path,
                number,
                f"{where}.cost_usd",
                f"{cost!r} is not allowed; a number >= 0 is required",
            )
        for tokens in ("input_tokens", "output_tokens"):
            value = result.get(tokens)
            if value is not None and (not _number(value) or value < 0):
                raise DataError(
                    path,
                    number,
                    f"{where}.{tokens}",
                    f"{value!r} is not allowed; an integer >= 0 or null",
                )


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _tabulate(path: Path, data: bytes, rows: list[tuple[int, dict[str, Any]]]) -> Outcomes:
    models = tuple(dict.fromkeys(m for _, obj in rows for m in obj["outcomes"]))
    column = {m: j for j, m in enumerate(models)}
    shape = (len(rows), len(models))
    arrays = {k: np.full(shape, np.nan) for k in _ARRAYS}
    prompts: list[Prompt] = []
    for i, (number, obj) in enumerate(rows):
        prompts.append(_prompt(path, number, obj))
        for model, result in obj["outcomes"].items():
            j = column[model]
            arrays["scores"][i, j] = result["score"]
            arrays["costs"][i, j] = result["cost_usd"]
            for key in ("input_tokens", "output_tokens"):
                if result.get(key) is not None:
                    arrays[key][i, j] = result[key]
    return Outcomes(
        path=str(path),
        fingerprint=hashlib.sha256(data).hexdigest(),
        ids=tuple(p.id for p in prompts),
        tasks=tuple(str(obj.get("task") or "") for _, obj in rows),
        messages=tuple(p.messages for p in prompts),
        references=tuple(_reference(obj) for _, obj in rows),
        models=models,
        responses=tuple(p.responses for p in prompts),
        cards=_cards(path.parent / "models.json", models),
        notes=_notes(arrays["scores"], models),
        **arrays,
    )


def _reference(obj: dict[str, Any]) -> str | None:
    ref = obj.get("reference")
    return ref if isinstance(ref, str) else None


def _notes(scores: np.ndarray, models: tuple[str, ...]) -> tuple[str, ...]:
    notes = []
    missing = np.isnan(scores)
    empty = int(missing.all(axis=1).sum())
    if empty:
        notes.append(
            f"{empty} prompt(s) have no outcomes; they give no training signal "
            "and are left out of evaluation"
        )
    for j, model in enumerate(models):
        gaps = int(missing[:, j].sum()) - empty
        if gaps:
            notes.append(
                f"model {model!r} lacks outcomes on {gaps} prompt(s); it is trained on "
                "the rest, and evaluation keeps only prompts every model answered"
            )
    return tuple(notes)


def _cards(path: Path, models: tuple[str, ...]) -> dict[str, ModelCard]:
    """Model cards from a ``models.json`` beside the outcomes file, if there is one."""
    if not path.is_file():
        return {}
    try:
        raw = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise DataError(path, None, None, f"not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise DataError(path, None, None, "expected an object of model name -> prices")
    cards = {}
    for name in models:
        entry = raw.get(name)
        if not isinstance(entry, dict):
            continue
        price_in, price_out = entry.get("input_usd_per_mtok"), entry.get("output_usd_per_mtok")
        cards[name] = ModelCard(
            name=name,
            input_usd_per_mtok=float(price_in) if _number(price_in) else None,
            output_usd_per_mtok=float(price_out) if _number(price_out) else None,
        )
    return cards
