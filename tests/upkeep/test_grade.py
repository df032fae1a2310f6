"""Graders: each kind on right and wrong answers; the code grader really runs code."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from slicewise.errors import DataError
from slicewise.upkeep.grade import Grade, choice_letter, grade
from slicewise.upkeep.probes import Probe, load_probes
from tests.conftest import write_jsonl

TESTS = "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"


def probe(grader: str, reference: str | None = None, **fields: object) -> Probe:
    return Probe("p", "", (("user", "q"),), grader, reference, **fields)  # type: ignore[arg-type]


def score(p: Probe, answer: str) -> Grade:
    return asyncio.run(grade(p, answer))


@pytest.mark.parametrize(
    ("grader", "reference", "answer", "expected"),
    [
        ("exact", "Paris", "  paris. ", 1.0),
        ("exact", "Paris", "The capital is:\nParis", 1.0),
        ("exact", "Paris", "Lyon", 0.0),
        ("numeric", "1234.5", "So the total is 1,234.5 dollars", 1.0),
        ("numeric", "0.75", "3/4", 1.0),
        ("numeric", "12", "12 apples, 13 pears", 0.0),
        ("numeric", "12", "no idea", 0.0),
        ("choice", "B", "The answer is (B).", 1.0),
        ("choice", "B", "B. because ...", 1.0),
        ("choice", "B", "C", 0.0),
        ("choice", "B", "either (A) or (C)", 0.0),
        ("regex", r"\b(yes|true)\b", "Yes, it is.", 1.0),
        ("regex", r"\b(yes|true)\b", "No.", 0.0),
    ],
)
def test_text_graders(grader: str, reference: str, answer: str, expected: float) -> None:
    assert score(probe(grader, reference), answer).score == expected


def test_numeric_tolerance() -> None:
    assert score(probe("numeric", "3.14159", tolerance=0.01), "about 3.14").score == 1.0
    assert score(probe("numeric", "3.14159"), "about 3.14").score == 0.0


def test_choice_letters_outside_the_choices_do_not_count() -> None:
    assert choice_letter("E", "ABCD") is None
    assert choice_letter("answer: d", "ABCD") == "D"


def code(answer: str, timeout_s: float = 10.0) -> Grade:
    return score(probe("code", tests=TESTS, timeout_s=timeout_s), answer)


def test_code_that_passes_its_tests() -> None:
    answer = "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```\n"
    assert code(answer) == Grade(1.0, "tests passed")


def test_code_that_fails_its_tests() -> None:
    result = code("def add(a, b):\n    return a - b\n")
    assert result.score == 0.0
    assert "AssertionError" in result.detail


def test_code_cannot_reach_the_network() -> None:
    answer = (
        "import socket\n"
        "socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
        "def add(a, b):\n    return a + b\n"
    )
    result = code(answer)
    assert result.score == 0.0
    assert "not allowed" in result.detail or "Network" in result.detail


def test_code_cannot_start_a_process() -> None:
    answer = "import os\nos.system('true')\ndef add(a, b):\n    return a + b\n"
    result = code(answer)
    assert result.score == 0.0
    assert "not allowed" in result.detail


def test_code_that_never_ends_is_stopped() -> None:
    started = time.monotonic()
    result = code("while True:\n    pass\n", timeout_s=1.0)
    assert result.score == 0.0
    assert "timed out" in result.detail
    assert time.monotonic() - started < 5


def test_judge_reads_the_score_line() -> None:
    seen: list[str] = []

    async def judge(prompt: str) -> str:
        seen.append(prompt)
        return "The answer is polite.\nSCORE: 7"

    p = probe("judge", rubric="Polite and names the city.")
    assert asyncio.run(grade(p, "Dear user, Paris.", judge)) == Grade(0.7, "judge 7/10")
    assert "Polite and names the city." in seen[0]


def test_probe_file_problems_name_line_and_field(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "messages": [{"role": "user", "content": "2+2?"}], "reference": "4"},
        {"id": "b", "messages": [{"role": "user", "content": "x"}], "grader": "fuzzy"},
        {"id": "c", "messages": [{"role": "user", "content": "x"}], "grader": "code"},
        {"id": "d", "messages": [{"role": "user", "content": "x"}], "grader": "numeric"},
    ]
    path = write_jsonl(tmp_path / "probes.jsonl", rows)
    with pytest.raises(DataError) as caught:
        load_probes(path)
    message = str(caught.value)
    assert f"{path}:2: grader: 'fuzzy' is not allowed" in message
    assert f"{path}:3: tests: missing" in message
    assert f"{path}:4: reference: missing" in message


def test_a_good_probe_file_loads(tmp_path: Path) -> None:
    rows = [
        {
            "id": "a",
            "messages": [{"role": "user", "content": "2+2?"}],
            "reference": "4",
            "grader": "numeric",
        },
        {
            "id": "b",
            "messages": [{"role": "user", "content": "add"}],
            "grader": "code",
            "tests": TESTS,
            "timeout_s": 3,
        },
    ]
    probes = load_probes(write_jsonl(tmp_path / "probes.jsonl", rows))
    assert [(p.id, p.grader) for p in probes] == [("a", "numeric"), ("b", "code")]
    assert probes[1].timeout_s == 3.0
