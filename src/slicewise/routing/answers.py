"""Final answers: a model's reply reduced to a key that two replies can be compared by.

A cascade accepts an answer when the models it asked agree on it, so replies must be compared
by what they answer, not by how they say it. ``final_answer`` keeps the last stated answer and
normalises it by kind:

* ``number``: ``"answer": "$1,200.50"``, ``#### 12`` or a reply's last number; 12, 12.0 and
  $12 are one key.
* ``choice``: a reply that is an option letter (``B``, ``(B)``, ``B) Logan``, ``answer: B``), or
  a short reply naming an option's text in the prompt (``Logan`` for ``B) Logan``).
* ``span``: any other short reply, lower-cased, without punctuation or articles.
* ``code``: a reply that holds a program. Programs are equal when they behave alike, which
  takes tests to see; without tests there is no key, so code never agrees and a cascade learns
  to skip or escalate on it. (With tests, the key would be the tuple of test results.)

Everything else (long prose, refusals, an empty reply) has no key. This is string work only,
microseconds a reply, so it can sit on a live request's path between two stages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Kind = Literal["number", "choice", "span", "code", "none"]
KINDS: tuple[Kind, ...] = ("number", "choice", "span", "code", "none")

SHORT = 40
"""Longest reply (characters) still read as a short-span answer."""

_JSON_ANSWER = re.compile(r'"answer"\s*:\s*"?((?:[^"\n\\]|\\.)*)', re.IGNORECASE)
_MARKED = re.compile(r"(?:####|answer is|answer:|final answer)\s*:?\s*(.{1,60})", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
_LETTER = re.compile(r"^\(?([A-J])(?:[).:]|\s*$|\s+\()")
_OPTION = re.compile(r"^\s*\(?([A-J])[).:]\s+(.+?)\s*$", re.MULTILINE)
_CODE = re.compile(r"```|^\s*(?:def |class |import |function |#include)|\[PYTHON\]", re.MULTILINE)
_WORDS = re.compile(r"[^\w\s]")
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")


@dataclass(frozen=True)
class Answer:
    kind: Kind
    key: str | None
    """Equal keys mean equal answers; ``None`` means not comparable."""


NONE = Answer("none", None)


def final_answer(reply: str | None, prompt: str = "") -> Answer:
    """The comparable final answer of ``reply`` to ``prompt``."""
    if not reply or not reply.strip():
        return NONE
    text = reply.strip()
    marked = _marked(text)
    if marked is not None:
        return _short(marked, prompt) or NONE
    if _CODE.search(text):
        return Answer("code", None)
    short = _short(text, prompt) if len(text) <= SHORT else None
    if short is not None:
        return short
    return _last_number(text) or NONE


def _marked(text: str) -> str | None:
    """The text of the last explicitly marked answer (JSON field or an 'answer is' phrase)."""
    found = _JSON_ANSWER.findall(text)
    if found:
        return str(found[-1]).strip()
    marked = _MARKED.findall(text)
    return str(marked[-1]).strip() if marked else None


def _short(text: str, prompt: str) -> Answer | None:
    letter = _LETTER.match(text)
    if letter is not None:
        return Answer("choice", letter.group(1))
    number = _last_number(text)
    if number is not None:
        return number
    span = _span(text)
    if not span:
        return None
    option = _options(prompt).get(span)
    if option is not None:
        return Answer("choice", option)
    return Answer("span", span) if len(span) <= SHORT else None


def _last_number(text: str) -> Answer | None:
    numbers = _NUMBER.findall(text)
    return _number(numbers[-1]) if numbers else None


def _number(raw: str) -> Answer | None:
    try:
        value = float(raw.replace(",", ""))
    except ValueError:
        return None
    return Answer("number", f"{round(value, 6):g}")


def _span(text: str) -> str:
    words = _ARTICLES.sub(" ", _WORDS.sub(" ", text.lower()))
    return " ".join(words.split())


def _options(prompt: str) -> dict[str, str]:
    """Option text -> letter for the last set of lettered options in the prompt."""
    found = _OPTION.findall(prompt[-2000:])
    options: dict[str, str] = {}
    for letter, text in found:
        if letter == "A":
            options = {}  # a new question's options start again at A
        options[_span(text)] = letter
    return options


@dataclass(frozen=True, eq=False)
class AnswerTable:
    """Final answers of a batch of prompts by a set of models.

    ``keys`` is ``(prompts, models)`` int32: equal non-negative values in a row are equal
    answers; -1 is no comparable answer (no reply, code, prose). ``kinds`` indexes ``KINDS``.
    """

    keys: np.ndarray
    kinds: np.ndarray

    @property
    def coverage(self) -> float:
        """Share of cells with a comparable answer."""
        return float((self.keys >= 0).mean()) if self.keys.size else 0.0


def answer_table(
    prompts: Sequence[str], responses: Sequence[Mapping[str, str]], models: Sequence[str]
) -> AnswerTable:
    """Normalise every recorded reply of ``models`` to ``prompts``."""
    keys = np.full((len(prompts), len(models)), -1, np.int32)
    kinds = np.full((len(prompts), len(models)), KINDS.index("none"), np.int8)
    for i, (prompt, replies) in enumerate(zip(prompts, responses, strict=True)):
        seen: dict[str, int] = {}
        for j, model in enumerate(models):
            answer = final_answer(replies.get(model), prompt)
            kinds[i, j] = KINDS.index(answer.kind)
            if answer.key is not None:
                keys[i, j] = seen.setdefault(f"{answer.kind}:{answer.key}", len(seen))
    return AnswerTable(keys, kinds)
