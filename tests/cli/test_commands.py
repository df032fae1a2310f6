"""The command-line contract: outputs, exit codes, and errors without tracebacks."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from slicewise.cli.eval import COMPARED
from slicewise.cli.main import main


@pytest.fixture
def router(tmp_path: Path, outcomes_file) -> Path:
    out = tmp_path / "router.safetensors"
    assert (
        main(
            [
                "train",
                "--data",
                str(outcomes_file(200)),
                "--out",
                str(out),
                "--features",
                "tfidf",
                "--folds",
                "3",
            ]
        )
        == 0
    )
    return out


def lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_train_prints_a_summary(tmp_path: Path, outcomes_file, capsys) -> None:
    out = tmp_path / "r.safetensors"
    assert (
        main(
            [
                "train",
                "--data",
                str(outcomes_file(100)),
                "--out",
                str(out),
                "--router",
                "cluster",
                "--features",
                "tfidf",
                "--json",
            ]
        )
        == 0
    )
    summary = orjson.loads(capsys.readouterr().out)
    assert summary["kind"] == "cluster" and summary["prompts"] == 100
    assert out.is_file()


def test_route_sweep_writes_k_models_per_prompt(
    router: Path, tmp_path: Path, outcomes_file
) -> None:
    prompts, out = outcomes_file(30, seed=4, name="prompts.jsonl"), tmp_path / "choices.jsonl"
    assert (
        main(
            [
                "route",
                "--router",
                str(router),
                "--input",
                str(prompts),
                "--out",
                str(out),
                "--sweep",
                "5",
            ]
        )
        == 0
    )
    rows = lines(out)
    assert [r["id"] for r in rows] == [f"p{i}" for i in range(30)]
    assert all(len(r["models"]) == 5 for r in rows)
    # the cheapest-leaning end never spends more than the quality-leaning end
    price = {"small": 0, "medium": 1, "large": 2}
    assert sum(price[r["models"][0]] for r in rows) <= sum(price[r["models"][-1]] for r in rows)


def test_route_target_writes_one_model_per_prompt(
    router: Path, tmp_path: Path, outcomes_file
) -> None:
    prompts, out = outcomes_file(10, seed=4, name="prompts.jsonl"), tmp_path / "choices.jsonl"
    assert (
        main(
            [
                "route",
                "--router",
                str(router),
                "--input",
                str(prompts),
                "--out",
                str(out),
                "--target",
                "0.95",
            ]
        )
        == 0
    )
    assert all(set(r) == {"id", "model"} for r in lines(out))


def test_route_explains_a_prompt(router: Path, capsys) -> None:
    assert main(["route", "--router", str(router), "Prove the Riemann hypothesis"]) == 0
    shown = capsys.readouterr().out
    assert "chosen" in shown and "predicted quality" in shown
    assert main(["route", "--router", str(router), "--json", "hi"]) == 0
    explained = orjson.loads(capsys.readouterr().out)
    assert {c["model"] for c in explained["candidates"]} == {"small", "medium", "large"}


def test_eval_reports_every_router_and_baseline(tmp_path: Path, outcomes_file, capsys) -> None:
    plots = tmp_path / "plots"
    assert (
        main(
            [
                "eval",
                "--data",
                str(outcomes_file(200)),
                "--folds",
                "3",
                "--features",
                "tfidf",
                "--plot",
                str(plots),
                "--json",
            ]
        )
        == 0
    )
    report = orjson.loads(capsys.readouterr().out)
    assert set(report["routers"]) == set(COMPARED)
    for name in ("oracle", "cheapest", "random", "zero_router", "baseline"):
        assert name in report
    assert report["routers"]["predictor"]["aiq"] > report["zero_router"]["aiq"]
    assert (plots / "curves.png").is_file() and (plots / "curves.html").is_file()


def test_eval_with_a_test_file(tmp_path: Path, outcomes_file, capsys) -> None:
    assert (
        main(
            [
                "eval",
                "--data",
                str(outcomes_file(200)),
                "--test",
                str(outcomes_file(100, seed=8, name="test.jsonl")),
                "--router",
                "predictor",
                "--features",
                "tfidf",
                "--plot",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert "held-out test file" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--data", "missing.jsonl", "--out", "x"], "missing.jsonl: cannot read file"),
        (["route", "--router", "missing.safetensors", "hi"], "no such router file"),
        (
            [
                "route",
                "--router",
                "{router}",
                "--input",
                "{bad}",
                "--out",
                "o.jsonl",
                "--sweep",
                "3",
            ],
            "bad.jsonl:1: not valid JSON",
        ),
        (["route", "--router", "{router}"], "route needs a prompt to explain"),
        (
            ["route", "--router", "{router}", "hi", "--target", "max_cost=0"],
            "no eligible model fits the cost ceiling",
        ),
        (["eval", "--data", "{data}", "--pair", "small,nope"], "'nope' is not a model"),
    ],
)
def test_user_mistakes_get_one_clear_line(
    argv: list[str], message: str, router: Path, tmp_path: Path, outcomes_file, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n")
    values = {"router": str(router), "bad": str(bad), "data": str(outcomes_file(30))}
    assert main([a.format(**values) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_bad_option_values_exit_with_usage(capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["train", "--data", "x", "--out", "y", "--router", "magic"])
    assert caught.value.code == 2
    assert "invalid choice: 'magic'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("yaml", "argv", "message"),
    [
        ("", ["config", "check", "{file}"], "no providers and no models: nothing to route to"),
        ("", ["serve", "--config", "{file}"], "no providers and no models: nothing to route to"),
        (
            "providers: {p: {kind: openai, base_url: 'http://127.0.0.1:9'}}\n"
            "models: [{name: p/m}]\nroutes: {auto: {router: missing.safetensors}}\n",
            ["serve", "--config", "{file}"],
            "c.yaml:3: routes.auto.router: no such router file 'missing.safetensors'",
        ),
        (
            "ledger: {url: 'mysql://user:hunter2@db/x'}\n",
            ["config", "check", "{file}"],
            "c.yaml:1: ledger.url: use sqlite:///PATH or postgresql://USER@HOST/DATABASE",
        ),
        ("", ["report", "--ledger", "sqlite:///typo/x.db"], "no ledger at typo/x.db"),
    ],
)
def test_what_would_fail_at_start_fails_before_it(
    yaml: str, argv: list[str], message: str, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.yaml").write_text(yaml)
    assert main([a.format(file="c.yaml") for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "hunter2" not in err
    assert not (tmp_path / "typo").exists()  # a read-only command makes no ledger


def test_config_check_warns_about_an_unset_key(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_FOR_TESTS", raising=False)
    config = tmp_path / "c.yaml"
    config.write_text(
        "providers: {p: {kind: openai, base_url: 'http://127.0.0.1:9', key_env: "
        "NO_SUCH_KEY_FOR_TESTS}}\nmodels: [{name: p/m}]\n"
    )
    assert main(["config", "check", str(config)]) == 0
    out = capsys.readouterr().out
    assert "provider p: the environment variable NO_SUCH_KEY_FOR_TESTS is not set" in out
