"""``slicewise profile`` end to end: the real local SmolLM2 slice, and the fake upstream playing
a model that silently gets worse between two profiles (which ``check`` must fail on)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from slicewise.cli.main import main
from slicewise.outcomes import load_outcomes
from tests.conftest import WORDS, write_jsonl
from tests.fakes.upstream import FakeUpstream, ok, status

LOCAL = "local/smollm2-135m-instruct"


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def local_probes() -> list[dict[str, Any]]:
    """Questions SmolLM2-135M answers right at temperature 0, and one it cannot."""
    return [
        {
            "id": "add",
            "messages": user("What is 2 + 2? Answer with a number."),
            "reference": "4",
            "grader": "numeric",
        },
        {
            "id": "capital",
            "messages": user("What is the capital of France? Answer in one word."),
            "reference": r"\bparis\b",
            "grader": "regex",
        },
        {
            "id": "sky",
            "messages": user("What colour is the sky on a clear day? One word."),
            "reference": r"\bblue\b",
            "grader": "regex",
        },
        {
            "id": "pick",
            "messages": user("Which is a fruit? (A) stone (B) apple. Answer A or B."),
            "reference": "B",
            "grader": "choice",
            "choices": "AB",
        },
    ]


def test_profile_the_local_slice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    from slicewise.providers.local import available

    if not available():
        pytest.skip("the SmolLM2 model file is not installed")
    probes = write_jsonl(tmp_path / "probes.jsonl", local_probes())
    out = tmp_path / "local.jsonl"
    argv = [
        "profile",
        LOCAL,
        "--probes",
        str(probes),
        "--out",
        str(out),
        "--max-tokens",
        "16",
        "--concurrency",
        "1",
        "--json",
    ]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "expected cost at most $0.0000" in captured.err
    summary = json.loads(captured.out)
    assert summary["profiled"] == 4 and summary["failed"] == 0
    outcomes = load_outcomes(out)
    assert outcomes.models == (LOCAL,)
    assert outcomes.scores[:, 0].tolist()[:3] == [1.0, 1.0, 1.0]
    assert (outcomes.costs == 0).all() and (outcomes.output_tokens > 0).all()

    assert main(argv) == 0  # a rerun resumes: nothing left to do
    assert json.loads(capsys.readouterr().out)["already_profiled"] == 4


def fake_config(tmp_path: Path, fake: FakeUpstream) -> Path:
    config = {
        "providers": {"fake": {"kind": "openai", "base_url": fake.url + "/v1"}},
        "models": [
            {"name": "fake/gpt-4o-mini", "input_usd_per_mtok": 0.15, "output_usd_per_mtok": 0.6},
            {"name": "fake/gpt-4o", "input_usd_per_mtok": 2.5, "output_usd_per_mtok": 10},
        ],
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def echo_probes(n: int) -> list[dict[str, Any]]:
    """Probes the fake's default echo answers right: the reference is in the question."""
    return [
        {
            "id": f"e{i}",
            "task": "echo",
            "grader": "regex",
            "messages": user(f"Say {WORDS[i % len(WORDS)]} {i}."),
            "reference": rf"\b{WORDS[i % len(WORDS)]} {i}\b",
        }
        for i in range(n)
    ]


def renamed_probes(rows: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [dict(row, id=prefix + row["id"]) for row in rows]


def profile(config: Path, model: str, probes: Path, out: Path, *extra: str) -> int:
    argv = [
        "profile",
        model,
        "--probes",
        str(probes),
        "--out",
        str(out),
        "--config",
        str(config),
        "--max-tokens",
        "8",
        "--json",
        *extra,
    ]
    return main(argv)


def test_check_fails_on_a_model_that_silently_got_worse(
    tmp_path: Path, fake_upstream: FakeUpstream, capsys: pytest.CaptureFixture[str]
) -> None:
    config = fake_config(tmp_path, fake_upstream)
    probes = write_jsonl(tmp_path / "probes.jsonl", echo_probes(40))
    learned = tmp_path / "learned.jsonl"
    for model in ("fake/gpt-4o-mini", "fake/gpt-4o"):
        assert profile(config, model, probes, learned) == 0
    router = tmp_path / "router.safetensors"
    assert (
        main(
            ["train", "--data", str(learned), "--out", str(router), "--router", "cluster", "--json"]
        )
        == 0
    )

    fake_upstream.default = ok("I am not sure.")  # same name, same price, worse answers
    again = tmp_path / "again.jsonl"
    assert profile(config, "fake/gpt-4o-mini", probes, again) == 0
    capsys.readouterr()
    assert main(["check", "--router", str(router), "--outcomes", str(again), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    mini = next(m for m in result["models"] if m["model"] == "fake/gpt-4o-mini")
    assert mini["paired"] and mini["regressed"] and mini["change"] == -1.0
    assert result["regressed"]


def test_max_cost_stops_cleanly_and_a_rerun_resumes(
    tmp_path: Path, fake_upstream: FakeUpstream, capsys: pytest.CaptureFixture[str]
) -> None:
    config = fake_config(tmp_path, fake_upstream)
    probes = write_jsonl(tmp_path / "probes.jsonl", echo_probes(10))
    out = tmp_path / "out.jsonl"
    # each probe reserves about 8 output tokens x $10/Mtok + its input: ~$0.0001
    assert (
        profile(config, "fake/gpt-4o", probes, out, "--max-cost", "0.0004", "--concurrency", "1")
        == 3
    )
    captured = capsys.readouterr()
    first = json.loads(captured.out)
    assert first["stopped_at_max_cost"] and 0 < first["profiled"] < 10
    assert first["spent_usd"] <= 0.0004
    assert "stopped at --max-cost $0.0004" in captured.err
    calls = fake_upstream.calls["gpt-4o"]

    assert profile(config, "fake/gpt-4o", probes, out) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["already_profiled"] == first["profiled"]
    assert fake_upstream.calls["gpt-4o"] - calls == 10 - first["profiled"]
    assert len(load_outcomes(out)) == 10

    others = write_jsonl(tmp_path / "others.jsonl", renamed_probes(echo_probes(3), "o"))
    assert profile(config, "fake/gpt-4o", others, out) == 0  # another probe set, same file
    assert len(load_outcomes(out)) == 13


def test_failed_calls_are_counted_and_retried_on_rerun(
    tmp_path: Path, fake_upstream: FakeUpstream, capsys: pytest.CaptureFixture[str]
) -> None:
    config = fake_config(tmp_path, fake_upstream)
    probes = write_jsonl(tmp_path / "probes.jsonl", echo_probes(4))
    out = tmp_path / "out.jsonl"
    fake_upstream.script(status(500), model="gpt-4o-mini")
    assert profile(config, "fake/gpt-4o-mini", probes, out, "--concurrency", "1") == 3
    captured = capsys.readouterr()
    assert json.loads(captured.out)["failed"] == 1
    assert "rerun to retry it" in captured.err
    assert profile(config, "fake/gpt-4o-mini", probes, out) == 0
    assert json.loads(capsys.readouterr().out)["profiled"] == 1


def test_judge_graded_probes_go_to_the_judge_model(
    tmp_path: Path, fake_upstream: FakeUpstream, capsys: pytest.CaptureFixture[str]
) -> None:
    config = fake_config(tmp_path, fake_upstream)
    rows = [
        {
            "id": "j",
            "grader": "judge",
            "rubric": "Names a colour.",
            "messages": user("Name a colour."),
        }
    ]
    probes = write_jsonl(tmp_path / "probes.jsonl", rows)
    out = tmp_path / "out.jsonl"
    assert profile(config, "fake/gpt-4o-mini", probes, out) == 2  # no --judge
    assert "--judge" in capsys.readouterr().err
    fake_upstream.script(ok("SCORE: 8"), model="gpt-4o")
    assert profile(config, "fake/gpt-4o-mini", probes, out, "--judge", "fake/gpt-4o") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["mean_score"] == 0.8
    judged = fake_upstream.requests[-1].body
    assert judged["model"] == "gpt-4o" and "Names a colour." in judged["messages"][0]["content"]
    assert summary["spent_usd"] > load_outcomes(out).costs[0, 0]  # the judge's call is paid too
