"""Final-answer normalisation: equal answers get equal keys, whatever the wording."""

from __future__ import annotations

import pytest

from slicewise.routing.answers import answer_table, final_answer

OPTIONS = "Who is taller?\nA) Kyle\nB) Logan\nAnswer:"


@pytest.mark.parametrize(
    ("reply", "kind", "key"),
    [
        ('{"reasoning": "2 + 1 = 3", "answer": "3"}', "number", "3"),
        ('"answer": "$1,200.50"', "number", "1200.5"),
        ('"answer": "16 pounds"', "number", "16"),
        ("#### 12.0", "number", "12"),
        ("The answer is 2 + 1 = 3.", "number", "3"),
        ("We add them and get 42 apples, which is the total we wanted to find.", "number", "42"),
        ("B", "choice", "B"),
        ("(C)", "choice", "C"),
        ("A) Kyle", "choice", "A"),
        ("D\n", "choice", "D"),
        ("Logan", "choice", "B"),
        ("Paris.", "span", "paris"),
        ("The Eiffel Tower", "span", "eiffel tower"),
    ],
)
def test_replies_reduce_to_their_final_answer(reply: str, kind: str, key: str) -> None:
    answer = final_answer(reply, OPTIONS)
    assert (answer.kind, answer.key) == (kind, key)


@pytest.mark.parametrize(
    "reply",
    [
        "```python\ndef f(x):\n    return x\n```",
        "[PYTHON]\ndef f(x): return x\n[/PYTHON]",
        "def intersection(a, b):\n    return list(set(a) & set(b))",
    ],
)
def test_code_has_no_key_without_tests(reply: str) -> None:
    answer = final_answer(reply)
    assert answer.kind == "code" and answer.key is None


@pytest.mark.parametrize("reply", [None, "", "   "])
def test_no_reply_has_no_key(reply: str | None) -> None:
    assert final_answer(reply).key is None


def test_a_word_starting_with_a_letter_is_not_a_choice() -> None:
    assert final_answer("A chart of the sky").kind == "span"


def test_table_keys_are_equal_exactly_when_answers_are() -> None:
    replies = [
        {"a": '"answer": "12"', "b": "#### 12.00", "c": '"answer": "13"', "d": "```x```"},
        {"a": "B", "b": "Logan", "c": "A"},
    ]
    table = answer_table(["q", OPTIONS], replies, ["a", "b", "c", "d"])
    first, second = table.keys.tolist()
    assert first[0] == first[1] != first[2] and first[3] == -1
    assert second[0] == second[1] != second[2] and second[3] == -1
    assert 0.7 < table.coverage < 0.8
