"""A silent downgrade on real outcomes: does ``slicewise check`` catch it, and does
recalibration bring the realised quality back to the target?

One source's dev prompts are shuffled and split three ways: *train* (60%) to train a router,
*check* (20%) new prompts for the check, *verify* (20%) kept from both to measure the outcome.
Then one model's scores are replaced, on every prompt, by a weaker model's scores behind the
same name and price (the provider swapped the model without saying so). The check sees the
train and check prompts with the downgrade, as a nightly re-profile would; a control check
sees them without it. Prints one JSON object:

    python bench/downgrade.py                       # routerbench, auto-picked model
    python bench/downgrade.py --source llmrouter --model MODEL --weaker OTHER --router cluster

With ``--router cluster`` it also measures the lasting fix: the model profiled again and put
back with ``train --add`` (``realised_after_train_add``).

Needs ../shared/data; says so and exits 0 when it is absent.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from slicewise.outcomes import Outcomes, load_outcomes
from slicewise.routing.add import add_model
from slicewise.routing.record import Record
from slicewise.routing.router import Router
from slicewise.routing.train import Settings, train
from slicewise.upkeep.check import Check, check, realised, recalibrated

# ../shared/data beside the repository; SLICEWISE_DATA points elsewhere (a worktree)
DATA = Path(
    os.environ.get("SLICEWISE_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data"
)
TARGET = 0.95


def split(data: Outcomes, seed: int) -> tuple[Outcomes, Outcomes, Outcomes]:
    order = np.random.default_rng(seed).permutation(len(data))
    a, b = int(0.6 * len(data)), int(0.8 * len(data))
    return data.take(order[:a]), data.take(order[a:b]), data.take(order[b:])


def downgrade(data: Outcomes, model: str, weaker: str) -> Outcomes:
    """``model``'s scores replaced by ``weaker``'s; its name, costs and tokens kept."""
    scores = data.scores.copy()
    scores[:, data.models.index(model)] = data.scores[:, data.models.index(weaker)]
    return replace(data, scores=scores)


def busiest(router: Router, data: Outcomes, share: float) -> str:
    """The model the router sends most prompts to at ``share``, other than best single."""
    quality, cost = router.predict([" ".join(c for _, c in m) for m in data.messages])
    chosen = np.bincount(
        router.choose(quality, cost, None if share == 1 else _t(share)),
        minlength=len(router.models),
    )
    assert router.calibration is not None
    chosen[router.models.index(router.calibration.best_model)] = -1
    return router.models[int(chosen.argmax())]


def _t(share: float) -> Any:
    from slicewise.routing.target import Target

    return Target("share", share)


def weakest_below(data: Outcomes, model: str) -> str:
    """The model with the lowest mean quality: the strongest silent downgrade."""
    means = np.nanmean(data.scores, axis=0)
    return data.models[int(means.argmin())]


def summary(result: Check) -> dict[str, Any]:
    return {
        "exit_code": 1 if result.regressed else 0,
        "prompts_routed": result.prompts,
        "held_out": result.held_out,
        "models_regressed": [
            {
                "model": m.model,
                "change": round(m.change, 4),
                "ci95": [round(m.low, 4), round(m.high, 4)],
            }
            for m in result.models
            if m.regressed
        ],
        "targets": [
            {
                "share": t.share,
                "promised": round(t.promised, 4),
                "realised": round(t.realised, 4),
                "recalibrated": round(t.recalibrated, 4),
                "regressed": t.regressed,
            }
            for t in result.targets
        ],
    }


def verify(
    router: Router,
    fixed: Router,
    held: Outcomes,
    intact: Outcomes,
    share: float,
    readded: Router | None = None,
) -> dict[str, float]:
    assert router.calibration is not None
    untouched, _ = realised(router, intact, share)
    before, before_cost = realised(router, held, share)
    after, after_cost = realised(fixed, held, share)
    extra = {}
    if readded is not None:
        quality, cost = realised(readded, held, share)
        extra = {"realised_after_train_add": round(quality, 4), "cost_after_train_add": cost}
    return extra | {
        "share": share,
        "promised": round(share * router.calibration.best_quality, 4),
        "realised_before_the_downgrade": round(untouched, 4),
        "realised_without_recalibration": round(before, 4),
        "realised_recalibrated": round(after, 4),
        "cost_without_recalibration": before_cost,
        "cost_recalibrated": after_cost,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", default="routerbench")
    p.add_argument("--router", default="ensemble")
    p.add_argument("--model", help="the model that is downgraded (default: the busiest)")
    p.add_argument("--weaker", help="whose scores it gets (default: the weakest model)")
    p.add_argument("--limit", type=int, default=0, help="use only this many prompts")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", type=int, default=1, help="repeat with this many splits")
    args = p.parse_args()
    path = DATA / args.source / "dev.jsonl"
    if not path.is_file():
        print(orjson.dumps({"skipped": f"{path} is absent"}).decode())
        return 0
    if args.seeds == 1:
        print(orjson.dumps(run(path, args)).decode())
        return 0
    runs = [run(path, argparse.Namespace(**{**vars(args), "seed": s})) for s in range(args.seeds)]
    print(orjson.dumps(aggregate(runs)).decode())
    return 0


def aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean, lowest and highest of each verify number over the splits, and every check's exit."""
    verify: dict[str, Any] = {}
    for i, share in enumerate(runs[0]["verify_downgraded"]):
        keys = [k for k in share if k != "share"]
        verify[str(share["share"])] = {
            k: _spread([r["verify_downgraded"][i][k] for r in runs]) for k in keys
        }
    return {
        "source": runs[0]["source"],
        "router": runs[0]["router"],
        "splits": len(runs),
        "downgraded": [f"{r['downgraded']} <- {r['scores_from']}" for r in runs],
        "control_exit_codes": [r["control_check"]["exit_code"] for r in runs],
        "downgrade_exit_codes": [r["downgrade_check"]["exit_code"] for r in runs],
        "verify_downgraded": verify,
        "seconds": round(sum(r["seconds"] for r in runs), 1),
    }


def _spread(values: list[float]) -> dict[str, float]:
    def short(x: float) -> float:
        return float(f"{x:.4g}")

    return {
        "mean": short(float(np.mean(values))),
        "min": short(min(values)),
        "max": short(max(values)),
    }


def run(path: Path, args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    data = load_outcomes(path).complete()
    if args.limit:
        data = data.take(np.random.default_rng(args.seed).permutation(len(data))[: args.limit])
    fit, fresh, held = split(data, args.seed)
    router = train(fit, Settings(kind=args.router, seed=args.seed))
    record = Record.of(fit)
    model = args.model or busiest(router, fresh, TARGET)
    weaker = args.weaker or weakest_below(data, model)
    seen = load_concat(fit, fresh)
    control = check(router, record, seen)
    result = check(router, record, downgrade(seen, model, weaker))
    fixed = recalibrated(router, result.calibration, result.offsets)
    held_down = downgrade(held, model, weaker)
    # the lasting fix, for a cluster router: the model profiled again (here: its downgraded
    # outcomes on the prompts seen so far) and put back with train --add
    readded = None
    if args.router == "cluster":
        readded = add_model(router, record, downgrade(seen, model, weaker), model).router
    return {
        "source": args.source,
        "router": args.router,
        "prompts": {"train": len(fit), "check": len(fresh), "verify": len(held)},
        "downgraded": model,
        "scores_from": weaker,
        "quality_before": round(float(np.mean(fit.scores[:, fit.models.index(model)])), 4),
        "quality_after": round(float(np.mean(fit.scores[:, fit.models.index(weaker)])), 4),
        "control_check": summary(control),
        "downgrade_check": summary(result),
        "best_single_quality": {
            "train": round(router.calibration.best_quality, 4) if router.calibration else None,
            "verify": _best_on(router, held),
        },
        "verify_downgraded": [
            verify(router, fixed, held_down, held, s, readded) for s in (0.9, TARGET, 1.0)
        ],
        "seconds": round(time.perf_counter() - started, 1),
    }


def _best_on(router: Router, held: Outcomes) -> float:
    assert router.calibration is not None
    column = held.models.index(router.calibration.best_model)
    return round(float(np.mean(held.scores[:, column])), 4)


def load_concat(a: Outcomes, b: Outcomes) -> Outcomes:
    from slicewise.outcomes import concat

    return concat([a, b])


if __name__ == "__main__":
    sys.exit(main())
