"""A check's report: a dictionary for JSON, lines of text for people, a PNG plot."""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from slicewise.evaluation.curves import Point
from slicewise.evaluation.plot import plot_png
from slicewise.routing.calibrate import Mixture
from slicewise.upkeep.check import Check, TargetCheck


def as_dict(result: Check) -> dict[str, Any]:
    return {
        "regressed": result.regressed,
        "tolerance": result.tolerance,
        "prompts": result.prompts,
        "held_out": result.held_out,
        "models": [asdict(m) | {"change": m.change} for m in result.models],
        "targets": [_target(t) for t in result.targets],
        "offsets": {m: float(v) for m, v in zip(result.singles, result.offsets, strict=True) if v},
        "learned_best": {
            "model": result.learned.best_model,
            "quality": result.learned.best_quality,
        },
        "notes": list(result.notes),
    }


def _target(target: TargetCheck) -> dict[str, Any]:
    learned, now = target.thresholds
    fields = {k: v for k, v in asdict(target).items() if k != "thresholds"}
    return fields | {"thresholds": {"learned": _mixture(learned), "recalibrated": _mixture(now)}}


def _mixture(mixture: Mixture) -> dict[str, float | None]:
    def finite(value: float) -> float | None:
        return value if math.isfinite(value) else None  # JSON has no infinity: null = cheapest

    return {
        "rich_wtp": finite(mixture.rich_wtp),
        "cheap_wtp": finite(mixture.cheap_wtp),
        "share_at_rich": mixture.share,
    }


def text(result: Check) -> str:
    lines = [f"{'model':<40} {'prompts':>7} {'before':>7} {'after':>7} {'change':>8}  95% interval"]
    for m in result.models:
        flag = "  REGRESSED" if m.regressed else ""
        kind = "paired" if m.paired else "unpaired"
        lines.append(
            f"{m.model:<40} {m.prompts:>7} {m.before:>7.3f} {m.after:>7.3f} {m.change:>+8.3f}  "
            f"[{m.low:+.3f}, {m.high:+.3f}] {kind}{flag}"
        )
    lines += [
        "",
        f"{'target':<11} {'promised':>8} {'realised':>8}  {'95% interval':<16} "
        f"{'recalibrated':>12}  cost now",
    ]
    for t in result.targets:
        flag = "  BELOW TARGET" if t.regressed else ""
        name = f"share={t.share:g}"
        lines.append(
            f"{name:<11} {t.promised:>8.3f} {t.realised:>8.3f}  [{t.low:.3f}, {t.high:.3f}]   "
            f"{t.recalibrated:>12.3f}  "
            f"${t.cost:.6f} -> ${t.recalibrated_cost:.6f}{flag}"
        )
    moved = [f"{m} {v:+.3f}" for m, v in zip(result.singles, result.offsets, strict=True) if v]
    if moved:
        lines += ["", "recalibration corrects predicted quality: " + ", ".join(moved)]
    lines += ["", *(f"note: {n}" for n in result.notes)]
    verdict = "REGRESSION" if result.regressed else "ok"
    lines.append(f"verdict: {verdict} (tolerance {result.tolerance:g})")
    return "\n".join(lines) + "\n"


def plot(result: Check, path: Path) -> None:
    """The router's cost-quality curve as learned and as it is now, and each model now."""
    curves = {
        "router as learned": _points(result.learned.cost, result.learned.quality),
        "router now": _points(result.calibration.cost, result.calibration.quality),
    }
    singles = {m: Point(cost, quality) for m, (cost, quality) in result.singles.items()}
    verdict = "regression" if result.regressed else "ok"
    plot_png(curves, singles, path, title=f"slicewise check: {verdict}")


def _points(costs: Any, qualities: Any) -> list[Point]:
    return [Point(float(c), float(q)) for c, q in zip(costs, qualities, strict=True)]


def write(result: Check, folder: Path) -> list[Path]:
    import orjson

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "check.txt", folder / "check.json", folder / "check.png"]
    paths[0].write_text(text(result))
    paths[1].write_bytes(orjson.dumps(as_dict(result), option=orjson.OPT_INDENT_2))
    plot(result, paths[2])
    return paths
