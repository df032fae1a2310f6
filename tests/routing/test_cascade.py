"""Cascade routers: learned stages, acceptance on agreement, cost of every call, calibration."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from slicewise.features import prompt_text
from slicewise.outcomes import Outcomes, load_outcomes
from slicewise.routing import artifact
from slicewise.routing.cascade import CascadeRouter, Decisions
from slicewise.routing.target import Target
from slicewise.routing.train import Settings, train
from tests.conftest import write_jsonl

FAST = Settings(kind="cascade", features="tfidf", folds=3)
# price per call and accuracy on arithmetic and on code
MODELS = {"tiny": (1.0, 0.7, 0.3), "small": (2.0, 0.8, 0.4), "large": (20.0, 0.97, 0.9)}


def cascade_rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Arithmetic prompts (wrong answers scatter, so agreement means right) and code prompts
    (replies are programs, never comparable)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        code = i % 4 == 3
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        text = (
            f"Write a Python function that returns {a} times its argument plus {b}."
            if code
            else f"Sam has {a} apples and buys {b} more. How many apples does Sam have?"
        )
        outcomes = {}
        for model, (price, maths, coding) in MODELS.items():
            right = rng.random() < (coding if code else maths)
            answer = a + b if right else a + b + rng.randint(1, 50)
            reply = (
                f"```python\ndef f(x):\n    return {a} * x + {b}\n```"
                if code
                else f'{{"reasoning": "add them", "answer": "{answer}"}}'
            )
            outcomes[model] = {
                "score": float(right),
                "cost_usd": price * (1 + len(text) / 400) / 1e5,
                "response": reply,
            }
        rows.append(
            {
                "id": f"c{i}",
                "task": "code" if code else "maths",
                "messages": [{"role": "user", "content": text}],
                "reference": None,
                "outcomes": outcomes,
            }
        )
    return rows


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Outcomes, Outcomes]:
    folder = tmp_path_factory.mktemp("cascade")
    fit = load_outcomes(write_jsonl(folder / "fit.jsonl", cascade_rows(600)))
    fresh = load_outcomes(write_jsonl(folder / "fresh.jsonl", cascade_rows(800, seed=5)))
    return fit, fresh


@pytest.fixture(scope="module")
def router(data: tuple[Outcomes, Outcomes]) -> CascadeRouter:
    trained = train(data[0], FAST)
    assert isinstance(trained, CascadeRouter)
    return trained


def decide(router: CascadeRouter, table: Outcomes, target: Target) -> Decisions:
    batch = router.prepare([prompt_text(m) for m in table.messages], table.responses)
    return router.decide(batch, target)


def realised(router: CascadeRouter, table: Outcomes, target: Target) -> tuple[float, float]:
    decisions = decide(router, table, target)
    rows = np.arange(len(table))
    cost = (table.costs * decisions.called(len(router.models))).sum(axis=1)
    return float(table.scores[rows, decisions.accepted].mean()), float(cost.mean())


def test_learns_a_cascade_of_cheap_models_before_the_strong_one(router: CascadeRouter) -> None:
    assert router.cascades
    large = router.models.index("large")
    for cascade in router.cascades:
        assert large not in cascade.stages[0]


def test_matches_the_strong_model_for_much_less(
    router: CascadeRouter, data: tuple[Outcomes, Outcomes]
) -> None:
    fresh = data[1]
    large = fresh.models.index("large")
    quality, cost = realised(router, fresh, Target("share", 1.0))
    assert quality >= fresh.scores[:, large].mean() - 0.02
    assert cost < 0.7 * fresh.costs[:, large].mean()


def test_code_goes_straight_to_one_model(
    router: CascadeRouter, data: tuple[Outcomes, Outcomes]
) -> None:
    fresh = data[1]
    decisions = decide(router, fresh, Target("share", 1.0))
    code = np.array([t == "code" for t in fresh.tasks])
    cascaded = decisions.option >= len(router.models)
    assert cascaded[~code].mean() > 0.8
    assert cascaded[code].mean() < 0.2


def test_cost_is_every_call_and_quality_the_returned_answer(
    router: CascadeRouter, data: tuple[Outcomes, Outcomes]
) -> None:
    fresh = data[1]
    decisions = decide(router, fresh, Target("share", 0.95))
    called = decisions.called(len(router.models))
    for row in range(len(fresh)):
        calls = decisions.calls(row)
        flat = [m for stage in calls for m in stage]
        assert sorted(flat) == sorted(np.flatnonzero(called[row]).tolist())
        assert int(decisions.accepted[row]) in flat


@pytest.mark.parametrize("share", [0.9, 0.95, 1.0])
def test_realised_quality_lands_on_the_target(
    router: CascadeRouter, data: tuple[Outcomes, Outcomes], share: float
) -> None:
    quality, _ = realised(router, data[1], Target("share", share))
    assert router.plan is not None
    assert abs(quality - share * router.plan.best_quality) < 0.03


def test_cheaper_targets_cost_less(router: CascadeRouter, data: tuple[Outcomes, Outcomes]) -> None:
    spend = [realised(router, data[1], Target("share", s))[1] for s in (0.8, 0.9, 1.0)]
    assert spend[0] <= spend[1] <= spend[2]


def test_survives_the_artifact(
    router: CascadeRouter, data: tuple[Outcomes, Outcomes], tmp_path: Path
) -> None:
    artifact.save(router, tmp_path / "cascade.safetensors")
    loaded = artifact.load(tmp_path / "cascade.safetensors")
    assert isinstance(loaded, CascadeRouter)
    before = decide(router, data[1], Target("share", 0.95))
    after = decide(loaded, data[1], Target("share", 0.95))
    assert (before.accepted == after.accepted).all() and (before.depth == after.depth).all()


def test_is_a_prompt_only_router_without_replies(router: CascadeRouter) -> None:
    route = router.route((("user", "Sam has 3 apples and buys 4 more. How many?"),))
    assert route.model in router.models


def test_without_replies_it_routes_directly(outcomes_file) -> None:
    table = load_outcomes(outcomes_file(200))
    trained = train(table, FAST)
    assert isinstance(trained, CascadeRouter) and not trained.cascades
    decisions = decide(trained, table, Target("share", 0.95))
    for row in range(len(table)):
        assert decisions.calls(row) == [[int(decisions.accepted[row])]]


@pytest.mark.data
def test_finds_cascades_on_gsm8k_quickly(shared_source) -> None:
    table = load_outcomes(shared_source("gsm8k-zeroeval"))
    started = time.perf_counter()
    trained = train(table, Settings(kind="cascade"))
    assert time.perf_counter() - started < 60
    assert isinstance(trained, CascadeRouter) and trained.cascades


def test_command_line_writes_calls_and_accepted(tmp_path: Path) -> None:
    import orjson

    from slicewise.cli.main import main

    data = write_jsonl(tmp_path / "fit.jsonl", cascade_rows(300))
    fresh = cascade_rows(20, seed=9)
    prompts = [
        {
            "id": r["id"],
            "messages": r["messages"],
            "responses": {m: o["response"] for m, o in r["outcomes"].items()},
        }
        for r in fresh
    ]
    source = write_jsonl(tmp_path / "prompts.jsonl", prompts)
    router, out = tmp_path / "cascade.safetensors", tmp_path / "out.jsonl"
    train_args = ["train", "--data", str(data), "--out", str(router), "--router", "cascade"]
    assert main([*train_args, "--features", "tfidf", "--folds", "3"]) == 0
    route_args = ["route", "--router", str(router), "--input", str(source), "--out", str(out)]
    assert main([*route_args, "--sweep", "3"]) == 0
    for line in map(orjson.loads, out.read_bytes().splitlines()):
        assert len(line["calls"]) == len(line["accepted"]) == 3
        for calls, accepted in zip(line["calls"], line["accepted"], strict=True):
            assert accepted in {m for stage in calls for m in stage}
    assert main([*route_args, "--target", "0.95"]) == 0
    for line in map(orjson.loads, out.read_bytes().splitlines()):
        assert set(line) == {"id", "calls", "accepted"} and isinstance(line["accepted"], str)
