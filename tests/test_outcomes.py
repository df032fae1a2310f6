from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest

from slicewise.errors import DataError
from slicewise.outcomes import concat, iter_prompts, load_outcomes
from tests.conftest import synthetic_rows, write_jsonl


def row(i: int = 0, **outcomes: dict[str, object]) -> dict[str, object]:
    return {
        "id": f"r{i}",
        "task": "t",
        "messages": [{"role": "user", "content": f"q{i}"}],
        "outcomes": outcomes or {"a": {"score": 1, "cost_usd": 0.1}},
    }


def test_loads_a_table(outcomes_file) -> None:
    table = load_outcomes(outcomes_file(20))
    assert len(table) == 20
    assert table.models == ("small", "medium", "large")
    assert table.scores.shape == (20, 3)
    assert not np.isnan(table.scores).any()
    assert len(table.fingerprint) == 64


@pytest.mark.parametrize(
    ("line", "where"),
    [
        (b"{not json", "2: not valid JSON"),
        (b"[1, 2]", "2: expected a JSON object"),
        (orjson.dumps({"messages": []}), "2: id: missing"),
        (orjson.dumps({**row(1), "messages": []}), "2: messages: missing or empty"),
        (
            orjson.dumps({**row(1), "messages": [{"role": "bot", "content": "x"}]}),
            "2: messages[0].role: 'bot' is not allowed",
        ),
        (orjson.dumps(row(1, a={"score": 1.5, "cost_usd": 0.1})), "2: outcomes.a.score: 1.5"),
        (orjson.dumps(row(1, a={"score": 1, "cost_usd": -1})), "2: outcomes.a.cost_usd: -1"),
        (orjson.dumps(row(1, a={"score": 1, "cost_usd": None})), "2: outcomes.a.cost_usd: missing"),
        (orjson.dumps(row(1, a={"score": True, "cost_usd": 0})), "2: outcomes.a.score: True"),
        (orjson.dumps(row(0)), "2: id: duplicate id 'r0' (first on line 1)"),
        (orjson.dumps({**row(1), "outcomes": None}), "2: outcomes: missing"),
    ],
)
def test_names_file_line_and_field(tmp_path: Path, line: bytes, where: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(orjson.dumps(row(0)) + b"\n" + line + b"\n")
    with pytest.raises(DataError) as caught:
        load_outcomes(path)
    assert str(caught.value).startswith(f"{path}:{where}")


def test_reports_every_problem_at_once(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "bad.jsonl",
        [row(0, a={"score": 2, "cost_usd": 0}), row(1, a={"score": 1, "cost_usd": -3})],
    )
    with pytest.raises(DataError) as caught:
        load_outcomes(path)
    message = str(caught.value)
    assert f"{path}:1: outcomes.a.score" in message
    assert f"{path}:2: outcomes.a.cost_usd" in message


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n")
    with pytest.raises(DataError, match="file is empty"):
        load_outcomes(path)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read file"):
        load_outcomes(tmp_path / "nope.jsonl")


def test_model_missing_from_some_rows_is_handled(tmp_path: Path) -> None:
    rows = [
        row(0, a={"score": 1, "cost_usd": 0.1}, b={"score": 0, "cost_usd": 0.2}),
        row(1, a={"score": 0, "cost_usd": 0.1}),
    ]
    table = load_outcomes(write_jsonl(tmp_path / "gap.jsonl", rows))
    assert np.isnan(table.scores[1, 1])
    assert any("'b' lacks outcomes on 1 prompt" in note for note in table.notes)
    assert len(table.complete()) == 1


def test_models_json_beside_the_file_gives_cards(tmp_path: Path, outcomes_file) -> None:
    (tmp_path / "models.json").write_text(
        '{"small": {"input_usd_per_mtok": 0.1, "output_usd_per_mtok": 0.2}}'
    )
    table = load_outcomes(outcomes_file(10))
    assert table.cards["small"].output_usd_per_mtok == 0.2
    assert "large" not in table.cards


def test_concat_unions_models(tmp_path: Path) -> None:
    one = load_outcomes(write_jsonl(tmp_path / "1.jsonl", [row(0, a={"score": 1, "cost_usd": 1})]))
    two = load_outcomes(write_jsonl(tmp_path / "2.jsonl", [row(1, b={"score": 0, "cost_usd": 2})]))
    both = concat([one, two])
    assert both.models == ("a", "b")
    assert np.isnan(both.scores[0, 1]) and np.isnan(both.scores[1, 0])


def test_prompts_ignore_outcomes_and_stream(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "p.jsonl",
        [*synthetic_rows(3), {"id": "x", "messages": [{"role": "user", "content": "hi"}]}],
    )
    prompts = list(iter_prompts(path))
    assert [p.id for p in prompts] == ["p0", "p1", "p2", "x"]
    assert prompts[-1].messages == (("user", "hi"),)


def test_prompts_name_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "a", "messages": [{"role": "user", "content": "x"}]}\n{"id": "b"}\n')
    with pytest.raises(DataError, match=r"p.jsonl:2: messages"):
        list(iter_prompts(path))


@pytest.mark.data
def test_shared_sources_load(shared_source) -> None:
    for source in ("routerbench", "llmrouter", "gsm8k-zeroeval"):
        table = load_outcomes(shared_source(source))
        assert len(table) > 800
        assert len(table.models) >= 9
