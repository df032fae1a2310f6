"""Probe sets: outcomes-format prompts that carry what a right answer is.

A probe set is JSONL, one prompt per line, in the outcomes format (``id``, ``task``,
``messages``; ``outcomes`` optional and ignored) plus these fields:

- ``reference`` (string): the right answer; a regular expression for ``regex``.
- ``grader`` (string): ``exact``, ``numeric``, ``choice``, ``regex``, ``code`` or ``judge``;
  default ``exact`` when a reference is given (see ``slicewise.upkeep.grade``).
- ``tolerance`` (number >= 0): for ``numeric``, the largest absolute difference accepted.
- ``choices`` (string of letters, default ``ABCDE``): for ``choice``, the letters offered.
- ``tests`` (string, Python source): for ``code``, run after the answer's code; must exit 0.
- ``timeout_s`` (number > 0, default 10): for ``code``, the wall-clock limit.
- ``rubric`` (string): for ``judge``, what the judge looks for.

Problems are reported as ``FILE:LINE: field: problem``, all at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from slicewise.errors import DataError
from slicewise.outcomes import Messages, iter_prompts

GRADERS = ("exact", "numeric", "choice", "regex", "code", "judge")
NEEDS_REFERENCE = ("exact", "numeric", "choice", "regex")
CODE_TIMEOUT_S = 10.0
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Probe:
    id: str
    task: str
    messages: Messages
    grader: str
    reference: str | None = None
    tolerance: float | None = None
    choices: str = "ABCDE"
    tests: str | None = None
    timeout_s: float = CODE_TIMEOUT_S
    rubric: str | None = None
    row: dict[str, Any] | None = None
    """The line as read, so a profile can write every field back."""


def load_probes(path: str | Path) -> list[Probe]:
    """Every probe in ``path``; ``DataError`` listing each problem."""
    path = Path(path)
    prompts = iter_prompts(path)  # checks ids and messages, raising at the first bad line
    problems: list[str] = []
    probes = []
    for (number, row), prompt in zip(_rows(path), prompts, strict=True):
        try:
            probes.append(_probe(path, number, row, prompt.messages))
        except DataError as exc:
            problems.append(str(exc))
            if len(problems) >= MAX_PROBLEMS:
                break
    if problems:
        raise DataError(
            path, None, None, f"{len(problems)} problem(s):\n  " + "\n  ".join(problems)
        )
    return probes


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                yield number, orjson.loads(raw)


def _probe(path: Path, line: int, row: dict[str, Any], messages: Messages) -> Probe:
    def bad(field: str, problem: str) -> DataError:
        return DataError(path, line, field, problem)

    reference = _optional(row, "reference", str, bad)
    grader = row.get("grader") or ("exact" if reference is not None else None)
    if grader not in GRADERS:
        raise bad("grader", f"{grader!r} is not allowed; use one of {', '.join(GRADERS)}")
    if grader in NEEDS_REFERENCE and reference is None:
        raise bad("reference", f"missing; the {grader} grader compares with a reference string")
    probe = Probe(
        id=str(row["id"]),
        task=str(row.get("task") or ""),
        messages=messages,
        grader=grader,
        reference=reference,
        tolerance=_optional(row, "tolerance", float, bad),
        choices=_optional(row, "choices", str, bad) or "ABCDE",
        tests=_optional(row, "tests", str, bad),
        timeout_s=_optional(row, "timeout_s", float, bad) or CODE_TIMEOUT_S,
        rubric=_optional(row, "rubric", str, bad),
        row=row,
    )
    _check(probe, bad)
    return probe


def _optional(row: dict[str, Any], field: str, kind: type, bad: Any) -> Any:
    value = row.get(field)
    if value is None:
        return None
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise bad(field, f"{value!r} is not allowed; a number >= 0 is required")
        return float(value)
    if not isinstance(value, kind):
        raise bad(field, f"expected a {kind.__name__}, got {type(value).__name__}")
    return value


def _check(probe: Probe, bad: Any) -> None:
    if probe.grader == "code" and not (probe.tests or "").strip():
        raise bad("tests", "missing; the code grader runs the answer against Python tests")
    if probe.grader == "judge" and not (probe.rubric or "").strip():
        raise bad("rubric", "missing; the judge grader needs a rubric to grade against")
    if probe.grader == "choice" and not re.fullmatch(r"[A-Za-z]+", probe.choices):
        raise bad("choices", f"{probe.choices!r} is not allowed; letters such as ABCD")
    if probe.grader == "choice" and (probe.reference or "").strip().upper() not in probe.choices:
        raise bad("reference", f"{probe.reference!r} is not one of the choices {probe.choices}")
    if probe.grader == "regex":
        try:
            re.compile(probe.reference or "")
        except re.error as exc:
            raise bad("reference", f"not a valid regular expression: {exc}") from None
    if probe.timeout_s <= 0:
        raise bad("timeout_s", "must be a number > 0")
