"""``slicewise check`` and ``train --add`` on outcomes the tests build: a silent downgrade is
caught, a fresh sample of the same models is not, recalibration restores the target."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from slicewise.cli.main import main
from slicewise.outcomes import load_outcomes
from slicewise.routing import artifact
from slicewise.upkeep.check import check, realised, recalibrated
from tests.conftest import synthetic_rows, write_jsonl


def downgraded(rows: list[dict[str, Any]], model: str, weaker: str) -> list[dict[str, Any]]:
    """``model`` answers as badly as ``weaker`` under its own name and price."""
    out = json.loads(json.dumps(rows))
    for row in out:
        row["outcomes"][model]["score"] = row["outcomes"][weaker]["score"]
    return out


def renamed(rows: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [dict(row, id=prefix + row["id"]) for row in rows]


@pytest.fixture
def trained(tmp_path: Path) -> Callable[..., Path]:
    def make(kind: str = "cluster", n: int = 300) -> Path:
        data = write_jsonl(tmp_path / "train.jsonl", synthetic_rows(n))
        router = tmp_path / f"{kind}.safetensors"
        argv = ["train", "--data", str(data), "--out", str(router), "--router", kind, "--json"]
        assert main(argv) == 0
        return router

    return make


def test_a_silent_downgrade_fails_the_check(
    trained: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    router = trained()
    capsys.readouterr()
    new = write_jsonl(tmp_path / "new.jsonl", downgraded(synthetic_rows(300), "medium", "small"))
    report = tmp_path / "report"
    code = main(
        [
            "check",
            "--router",
            str(router),
            "--outcomes",
            str(new),
            "--json",
            "--report",
            str(report),
            "--recalibrate",
            str(tmp_path / "fixed.safetensors"),
        ]
    )
    assert code == 1
    result = json.loads(capsys.readouterr().out)
    medium = next(m for m in result["models"] if m["model"] == "medium")
    assert medium["paired"] and medium["regressed"]
    assert medium["high"] < 0 and medium["change"] < -0.1
    assert {m["model"] for m in result["models"] if m["regressed"]} == {"medium"}
    assert sorted(p.name for p in report.iterdir()) == ["check.json", "check.png", "check.txt"]
    assert "REGRESSED" in (report / "check.txt").read_text()
    assert (report / "check.png").read_bytes().startswith(b"\x89PNG")
    fixed = artifact.load(tmp_path / "fixed.safetensors")
    assert fixed.offsets is not None
    offsets = dict(zip(fixed.models, fixed.offsets, strict=True))
    assert offsets["medium"] == pytest.approx(medium["change"]) and offsets["large"] == 0.0
    assert artifact.load(router).offsets is None


def test_recalibration_brings_the_target_back(trained: Callable[..., Path], tmp_path: Path) -> None:
    router = artifact.load(trained())
    record = artifact.load_record(trained())
    assert record is not None
    rows = renamed(downgraded(synthetic_rows(400, seed=1), "medium", "small"), "n")
    new = load_outcomes(write_jsonl(tmp_path / "new.jsonl", rows[:200]))
    held = load_outcomes(write_jsonl(tmp_path / "held.jsonl", rows[200:]))
    result = check(router, record, new, targets=(0.95,))
    assert result.held_out
    fixed = recalibrated(router, result.calibration, result.offsets)
    promised = result.targets[0].promised
    assert realised(fixed, held, 0.95)[0] >= promised - 0.05


def test_a_fresh_sample_of_unchanged_models_passes(
    trained: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    router = trained()
    new = write_jsonl(tmp_path / "new.jsonl", renamed(synthetic_rows(300, seed=7), "n"))
    capsys.readouterr()
    assert (
        main(
            [
                "check",
                "--router",
                str(router),
                "--outcomes",
                str(new),
                "--json",
                "--tolerance",
                "0.05",
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["held_out"] and not result["regressed"]
    assert not any(m["paired"] for m in result["models"])


def test_a_router_without_a_record_asks_for_its_training_outcomes(
    trained: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = trained()
    router = artifact.load(path)
    old = tmp_path / "old.safetensors"
    artifact.save(router, old)  # as files were written before the record existed
    new = write_jsonl(tmp_path / "new.jsonl", synthetic_rows(300))
    assert main(["check", "--router", str(old), "--outcomes", str(new)]) == 2
    assert "--baseline" in capsys.readouterr().err
    argv = [
        "check",
        "--router",
        str(old),
        "--outcomes",
        str(new),
        "--baseline",
        str(tmp_path / "train.jsonl"),
    ]
    assert main(argv) == 0


def test_train_add_updates_one_model_of_a_cluster_router(
    trained: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = trained()
    before = artifact.load(path)
    profile = [
        {**row, "outcomes": {"medium": row["outcomes"]["small"]}} for row in synthetic_rows(120, 3)
    ]
    probes = write_jsonl(tmp_path / "profile.jsonl", renamed(profile, "q"))
    out = tmp_path / "added.safetensors"
    capsys.readouterr()
    argv = [
        "train",
        "--add",
        "medium",
        "--outcomes",
        str(probes),
        "--router",
        str(path),
        "--out",
        str(out),
        "--json",
    ]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["replaced"] and summary["prompts"] == 120
    after = artifact.load(out)
    assert after.models == ("small", "large", "medium")
    quality_before, _ = before.predict(["Prove that the integral of f over the sphere is 0."])
    quality_after, _ = after.predict(["Prove that the integral of f over the sphere is 0."])
    assert quality_after[0, 0] == pytest.approx(quality_before[0, 0])  # small untouched
    assert quality_after[0, 2] < quality_before[0, 1]  # medium learned its new weakness
    record = artifact.load_record(out)
    assert record is not None and record.models == after.models


def test_train_add_refuses_routers_that_must_retrain(
    trained: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = trained("ensemble")
    probes = write_jsonl(tmp_path / "p.jsonl", synthetic_rows(50))
    argv = [
        "train",
        "--add",
        "medium",
        "--outcomes",
        str(probes),
        "--router",
        str(path),
        "--out",
        str(tmp_path / "x.safetensors"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "ensemble router cannot take a model without retraining" in err
    assert "Traceback" not in err


def test_realised_quality_follows_the_router_s_model_order(
    trained: Callable[..., Path], tmp_path: Path
) -> None:
    router = artifact.load(trained())
    table = load_outcomes(write_jsonl(tmp_path / "t.jsonl", renamed(synthetic_rows(100, 5), "t")))
    shuffled = table.select_models(list(reversed(table.models)))
    assert realised(router, shuffled, 0.95) == realised(router, table, 0.95)


def test_check_takes_the_targets_of_the_routes_that_use_the_router(
    trained: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    router = trained()
    config = tmp_path / "slicewise.yaml"
    config.write_text(
        f"routes:\n  auto:\n    router: {router}\n    target: '0.9'\n"
        f"  capped:\n    router: {router}\n    target: max_cost=0.01\n"
    )
    new = write_jsonl(tmp_path / "new.jsonl", synthetic_rows(300))
    capsys.readouterr()
    argv = ["check", "--router", str(router), "--outcomes", str(new), "--config", str(config)]
    assert main([*argv, "--json"]) == 0
    captured = capsys.readouterr()
    assert [t["share"] for t in json.loads(captured.out)["targets"]] == [0.9]
    assert "route capped: target max_cost=0.01 is not a share" in captured.err
