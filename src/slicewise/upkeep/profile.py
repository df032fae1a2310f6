"""Profiling: run a probe set through a live model, grade each answer, write outcomes.

The model is called through the same provider adapters and catalog the gateway builds from its
configuration, so a profile measures what the gateway would serve. Each answered probe becomes
one outcomes row with the call's real tokens and cost; the output file is rewritten atomically
as results arrive (at most twice a second, and at the end), so an interrupted run loses little.

A rerun with the same ``--out`` skips every probe that already has an outcome for the model:
that is how a run stopped by ``--max-cost``, an interruption or upstream errors resumes.
Before a call starts, its cost is reserved at its upper bound (input characters / 4 tokens in,
``max_tokens`` out, judge call included), so the run stops before it could pass the cap.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args

import orjson

from slicewise.chat import ChatRequest, Message, Role, Usage
from slicewise.errors import DataError, UpstreamError
from slicewise.features import prompt_text
from slicewise.gateway.catalog import Model
from slicewise.providers.base import Provider
from slicewise.upkeep.grade import JUDGE_PROMPT, Grade, grade
from slicewise.upkeep.probes import Probe

logger = logging.getLogger(__name__)

CHARS_PER_TOKEN = 4
JUDGE_MAX_TOKENS = 64
FLUSH_S = 0.5
Say = Callable[[str], None]


@dataclass(frozen=True)
class Endpoint:
    """A model and the provider that serves it."""

    model: Model
    provider: Provider

    async def ask(self, messages: tuple[Message, ...], max_tokens: int, timeout: float) -> Any:
        request = ChatRequest(self.model.name, messages, max_tokens=max_tokens, temperature=0.0)
        return await self.provider.complete(self.model.upstream, request, timeout)


@dataclass(frozen=True)
class Settings:
    max_tokens: int = 256
    timeout_s: float = 120.0
    concurrency: int = 4
    max_cost: Decimal | None = None


@dataclass
class Summary:
    model: str
    probes: int
    already: int
    profiled: int = 0
    failed: int = 0
    spent: Decimal = Decimal(0)
    expected: Decimal | None = None
    stopped_at_cost: bool = False
    scores: list[float] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.already + self.profiled == self.probes

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "probes": self.probes,
            "already_profiled": self.already,
            "profiled": self.profiled,
            "failed": self.failed,
            "spent_usd": float(self.spent),
            "expected_usd": None if self.expected is None else float(self.expected),
            "stopped_at_max_cost": self.stopped_at_cost,
            "mean_score": sum(self.scores) / len(self.scores) if self.scores else None,
            "complete": self.complete,
        }


def estimate(
    probe: Probe, target: Model, judge: Model | None, settings: Settings
) -> Decimal | None:
    """Upper bound of one probe's cost; ``None`` when a price is unknown."""
    text = prompt_text(probe.messages)
    tokens_in = len(text) // CHARS_PER_TOKEN + 1
    cost = target.cost(Usage(tokens_in, settings.max_tokens))
    if cost is None or judge is None or probe.grader != "judge":
        return cost
    judge_in = (len(JUDGE_PROMPT) + len(text) + CHARS_PER_TOKEN * settings.max_tokens) // 4
    judged = judge.cost(Usage(judge_in + len(probe.rubric or "") // 4, JUDGE_MAX_TOKENS))
    return None if judged is None else cost + judged


def read_rows(path: Path) -> dict[str, dict[str, Any]]:
    """Rows of an existing output file by id (empty if there is none)."""
    if not path.is_file():
        return {}
    rows = {}
    for number, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
        if raw.strip():
            try:
                row = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise DataError(path, number, None, "not valid JSON; fix or remove it") from None
            rows[str(row.get("id"))] = row
    return rows


class Writer:
    """The output file: every probe's row (and any other row it held), rewritten atomically as
    outcomes arrive."""

    def __init__(self, path: Path, probes: list[Probe], existing: dict[str, dict[str, Any]]):
        self.path = path
        self.rows: dict[str, dict[str, Any]] = {}
        for probe in probes:
            row = {k: v for k, v in (probe.row or {}).items() if k != "outcomes"}
            row["outcomes"] = dict(existing.get(probe.id, {}).get("outcomes") or {})
            self.rows[probe.id] = row
        for key, row in existing.items():  # rows of other probe sets stay as they were
            self.rows.setdefault(key, row)
        self.flushed = 0.0

    def add(self, probe_id: str, model: str, outcome: dict[str, Any]) -> None:
        self.rows[probe_id]["outcomes"][model] = outcome
        if time.monotonic() - self.flushed > FLUSH_S:
            self.flush()

    def flush(self) -> None:
        temporary = self.path.with_name(self.path.name + ".partial")
        rows = (r for r in self.rows.values() if r["outcomes"])
        try:
            temporary.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
            os.replace(temporary, self.path)
        except OSError as exc:
            raise DataError(self.path, None, None, f"cannot write: {exc.strerror}") from None
        self.flushed = time.monotonic()


def chat_messages(probe: Probe) -> tuple[Message, ...]:
    roles = get_args(Role)
    return tuple(
        Message(role if role in roles else "system", content)  # type: ignore[arg-type]
        for role, content in probe.messages
    )


class Run:
    """One profiling run; ``await Run(...).go()`` returns its ``Summary``."""

    def __init__(
        self,
        target: Endpoint,
        probes: list[Probe],
        out: Path,
        settings: Settings,
        judge: Endpoint | None = None,
        say: Say | None = None,
    ):
        existing = read_rows(out)
        self.target, self.settings, self.judge_endpoint = target, settings, judge
        self.say = say or (lambda _: None)
        name = target.model.name
        self.todo = [
            p for p in probes if name not in (existing.get(p.id, {}).get("outcomes") or {})
        ]
        self.writer = Writer(out, probes, existing)
        self.summary = Summary(name, len(probes), len(probes) - len(self.todo))
        self.reserved = Decimal(0)
        judge_model = None if judge is None else judge.model
        self.costs = {p.id: estimate(p, target.model, judge_model, settings) for p in self.todo}

    def expected(self) -> Decimal | None:
        values = list(self.costs.values())
        if any(v is None for v in values):
            return None
        return sum((v for v in values if v is not None), Decimal(0))

    async def go(self) -> Summary:
        self.summary.expected = self.expected()
        queue = list(self.todo)
        workers = [self._worker(queue) for _ in range(max(1, self.settings.concurrency))]
        try:
            await asyncio.gather(*workers)
        finally:
            self.writer.flush()
        return self.summary

    async def _worker(self, queue: list[Probe]) -> None:
        while queue and not self.summary.stopped_at_cost:
            probe = queue[0]
            cost = self.costs[probe.id]
            if not self._affordable(cost):
                self.summary.stopped_at_cost = True
                return
            queue.pop(0)
            self.reserved += cost or 0
            try:
                await self._one(probe)
            finally:
                self.reserved -= cost or 0

    def _affordable(self, cost: Decimal | None) -> bool:
        cap = self.settings.max_cost
        return cap is None or self.summary.spent + self.reserved + (cost or 0) <= cap

    async def _one(self, probe: Probe) -> None:
        started = time.monotonic()
        try:
            response = await self.target.ask(
                chat_messages(probe), self.settings.max_tokens, self.settings.timeout_s
            )
        except UpstreamError as exc:
            self.summary.failed += 1
            self.say(f"{probe.id}: {self.target.model.name} failed: {exc}; rerun to retry it")
            return
        answer = response.message.content or ""
        usage = response.usage or Usage(len(prompt_text(probe.messages)) // 4, len(answer) // 4)
        cost = self.target.model.cost(usage) or Decimal(0)
        graded = await self._grade(probe, answer)
        self.summary.spent += cost
        self.summary.profiled += 1
        self.summary.scores.append(graded.score)
        self.writer.add(probe.id, self.target.model.name, _outcome(graded, cost, usage, answer))
        done = self.summary.already + self.summary.profiled
        elapsed = time.monotonic() - started
        self.say(
            f"[{done}/{self.summary.probes}] {probe.id}: score {graded.score:g} "
            f"({graded.detail}), ${cost:.6f}, {elapsed:.1f} s"
        )

    async def _grade(self, probe: Probe, answer: str) -> Grade:
        return await grade(probe, answer, self._judge if self.judge_endpoint else None)

    async def _judge(self, prompt: str) -> str:
        assert self.judge_endpoint is not None
        response = await self.judge_endpoint.ask(
            (Message("user", prompt),), JUDGE_MAX_TOKENS, self.settings.timeout_s
        )
        usage = response.usage
        self.summary.spent += self.judge_endpoint.model.cost(usage) or Decimal(0)
        return str(response.message.content or "")


def _outcome(graded: Grade, cost: Decimal, usage: Usage, answer: str) -> dict[str, Any]:
    return {
        "score": graded.score,
        "cost_usd": float(cost),
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "response": answer,
        "grade": graded.detail,
    }
