"""Graders: score one answer against a probe's reference, tests or rubric, in [0, 1].

Six kinds, named by the probe's ``grader`` field:

- ``exact``: the answer equals the reference, ignoring case, surrounding space and punctuation,
  and runs of whitespace; a last line that equals it also counts (models like a preamble).
- ``numeric``: the last number in the answer is within ``tolerance`` of the reference
  (absolute; default a millionth of the reference's size). ``1,234.5`` and ``-3/4`` parse.
- ``choice``: the answer's multiple-choice letter (``(B)``, ``B.``, ``answer is B``, a lone
  ``B``) is the reference letter; only letters in ``choices`` count.
- ``regex``: the reference, a Python regular expression, matches somewhere in the answer.
- ``code``: the answer's code (the first fenced block, else all of it) followed by the probe's
  ``tests`` runs in a fresh interpreter; it scores 1 when that exits 0. See ``sandbox``.
- ``judge``: a judge model reads the rubric and the answer and gives 0 to 10.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from fractions import Fraction

from slicewise.upkeep.probes import Probe
from slicewise.upkeep.sandbox import run_python

Judge = Callable[[str], Awaitable[str]]
"""Sends one judging prompt to the judge model and returns its reply."""

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+")
_FENCE = re.compile(r"```[ \t]*(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)
_SCORE = re.compile(r"score\s*[:=]?\s*(\d+(?:\.\d+)?)", re.IGNORECASE)


@dataclass(frozen=True)
class Grade:
    score: float
    detail: str
    """Why, in a few words (never the answer itself)."""


async def grade(probe: Probe, answer: str, judge: Judge | None = None) -> Grade:
    """Score ``answer`` to ``probe`` with the probe's grader."""
    if probe.grader == "code":
        return await run_code(answer, probe.tests or "", probe.timeout_s)
    if probe.grader == "judge":
        if judge is None:
            raise ValueError("a judge grader needs a judge model")
        return await judged(probe, answer, judge)
    return grade_text(probe, answer)


def grade_text(probe: Probe, answer: str) -> Grade:
    """The graders that need nothing but the text."""
    reference = probe.reference or ""
    if probe.grader == "numeric":
        return numeric(answer, reference, probe.tolerance)
    if probe.grader == "choice":
        return choice(answer, reference, probe.choices)
    if probe.grader == "regex":
        hit = re.search(reference, answer, re.IGNORECASE | re.MULTILINE) is not None
        return Grade(float(hit), "pattern matched" if hit else "pattern not found")
    return exact(answer, reference)


def normalise(text: str) -> str:
    return " ".join(text.casefold().split()).strip(" .,;:!?\"'`*")


def exact(answer: str, reference: str) -> Grade:
    want = normalise(reference)
    lines = [line for line in answer.strip().splitlines() if line.strip()]
    hit = normalise(answer) == want or bool(lines and normalise(lines[-1]) == want)
    return Grade(float(hit), "equal" if hit else "not equal")


def parse_number(text: str) -> Fraction | None:
    cleaned = text.replace(",", "")
    try:
        return Fraction(cleaned)
    except (ValueError, ZeroDivisionError):
        return None


def numeric(answer: str, reference: str, tolerance: float | None) -> Grade:
    want = parse_number(reference.strip())
    if want is None:
        return Grade(0.0, "reference is not a number")
    found = [n for n in (parse_number(m) for m in _NUMBER.findall(answer)) if n is not None]
    if not found:
        return Grade(0.0, "no number in the answer")
    got = found[-1]
    allowed = tolerance if tolerance is not None else 1e-6 * max(1.0, abs(float(want)))
    hit = abs(float(got - want)) <= allowed
    return Grade(float(hit), f"{float(got):g} {'within' if hit else 'outside'} {allowed:g}")


def choice_letter(answer: str, choices: str) -> str | None:
    """The letter the answer picks, or ``None`` when it picks none or several."""
    letters = re.escape(choices.upper())
    patterns = (
        rf"answer\s*(?:is|:)?\s*\(?([{letters}])\b",
        rf"^\s*\(?([{letters}])[\).:\s]",
        rf"\(([{letters}])\)",
        rf"^\s*([{letters}])\s*$",
    )
    text = answer.strip()
    for pattern in patterns:
        found = set(re.findall(pattern, text, re.IGNORECASE | re.MULTILINE))
        if len(found) == 1:
            return str(found.pop()).upper()
    return None


def choice(answer: str, reference: str, choices: str) -> Grade:
    got = choice_letter(answer, choices)
    if got is None:
        return Grade(0.0, "no single choice letter")
    hit = got == reference.strip().upper()
    return Grade(float(hit), f"chose {got}")


def extract_code(answer: str) -> str:
    fenced = _FENCE.search(answer)
    return fenced.group(1) if fenced else answer


async def run_code(answer: str, tests: str, timeout_s: float) -> Grade:
    result = await run_python(extract_code(answer) + "\n\n" + tests + "\n", timeout_s)
    if result.timed_out:
        return Grade(0.0, f"timed out after {timeout_s:g} s")
    if result.returncode == 0:
        return Grade(1.0, "tests passed")
    return Grade(0.0, f"tests failed (exit {result.returncode}): {result.last_error}")


JUDGE_PROMPT = """You grade an answer to a question against a rubric.

Question:
{question}

Reference answer (may be empty):
{reference}

Rubric:
{rubric}

Answer to grade:
{answer}

Reply with one line: SCORE: N, where N is 0 (fails the rubric) to 10 (meets it fully)."""


async def judged(probe: Probe, answer: str, judge: Judge) -> Grade:
    question = "\n\n".join(content for role, content in probe.messages if role == "user")
    reply = await judge(
        JUDGE_PROMPT.format(
            question=question,
            reference=probe.reference or "",
            rubric=probe.rubric or "",
            answer=answer,
        )
    )
    found = _SCORE.search(reply)
    if found is None:
        return Grade(0.0, "judge gave no SCORE line")
    value = min(10.0, float(found.group(1)))
    return Grade(value / 10.0, f"judge {value:g}/10")
