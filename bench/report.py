"""The phases summed up: latency, throughput and CPU per target, and the issue's targets."""

from __future__ import annotations

from collections import Counter
from typing import Any

from load import CHUNKS
from phases import Phase


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def summarise(phases: list[Phase]) -> dict[str, Any]:
    latency = [x for p in phases for x in p.load.latency]
    first = [x for p in phases for x in p.load.first]
    count = len(latency)
    errors: Counter[str] = sum((p.load.errors for p in phases), Counter())
    out = {
        "requests": count,
        "errors": dict(errors),
        "throughput_rps": round(count / sum(p.load.wall for p in phases), 1),
        "p50_ms": ms(percentile(latency, 0.5)),
        "p99_ms": ms(percentile(latency, 0.99)),
        "cpu_ms_per_request": round(sum(p.cpu for p in phases) * 1000 / max(count, 1), 4),
        "upstream_cpu_ms_per_request": round(
            sum(p.upstream_cpu for p in phases) * 1000 / max(count, 1), 4
        ),
        "p50_ms_by_round": [ms(percentile(p.load.latency, 0.5)) for p in phases],
        "cpu_ms_per_request_by_round": [
            round(p.cpu * 1000 / max(len(p.load.latency), 1), 3) for p in phases
        ],
    }
    if phases[0].mode != "plain":
        out["first_chunk_p50_ms"] = ms(percentile(first, 0.5))
    return out


def report(phases: list[Phase]) -> dict[str, dict[str, dict[str, Any]]]:
    """mode -> concurrency -> target -> summary, with latency added over direct."""
    grouped: dict[tuple[str, int, str], list[Phase]] = {}
    for p in phases:
        grouped.setdefault((p.mode, p.concurrency, p.target), []).append(p)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for (mode, c, target), group in grouped.items():
        out.setdefault(mode, {}).setdefault(str(c), {})[target] = summarise(group)
    for by_c in out.values():
        for row in by_c.values():
            base = row.get("direct")
            for target, summary in row.items():
                if target != "direct" and base is not None:
                    summary["added_p50_ms"] = round(summary["p50_ms"] - base["p50_ms"], 3)
                    summary["added_p99_ms"] = round(summary["p99_ms"] - base["p99_ms"], 3)
                    if "first_chunk_p50_ms" in summary:
                        first = summary["first_chunk_p50_ms"] - base["first_chunk_p50_ms"]
                        summary["added_first_chunk_p50_ms"] = round(first, 3)
    return out


def overhead_per_chunk(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    """slicewise's CPU per streamed chunk, two ways, per concurrency (microseconds)."""
    out = {}
    extra = CHUNKS["stream_long"] - CHUNKS["stream"]
    for c, row in results["stream"].items():
        stream = row["slicewise"]["cpu_ms_per_request"]
        plain = results["plain"][c]["slicewise"]["cpu_ms_per_request"]
        entry = {"stream_minus_plain_us": round((stream - plain) * 1000 / CHUNKS["stream"], 1)}
        long = results.get("stream_long", {}).get(c, {}).get("slicewise")
        if long is not None:
            slope = (long["cpu_ms_per_request"] - stream) * 1000 / extra
            entry["slope_20_to_80_chunks_us"] = round(slope, 1)
        out[c] = entry
    return out


def targets(results: dict[str, Any], per_chunk: dict[str, dict[str, float]]) -> dict[str, Any]:
    ratios = {
        f"{mode}@{c}": round(
            row["slicewise"]["cpu_ms_per_request"] / row["litellm"]["cpu_ms_per_request"], 4
        )
        for mode in ("plain", "stream")
        for c, row in results[mode].items()
    }
    chunk = [
        v.get("slope_20_to_80_chunks_us", v["stream_minus_plain_us"]) for v in per_chunk.values()
    ]
    worst = max(ratios.values())
    cpu = {
        "met": worst <= 0.1,
        "ratio": ratios,
        "worst": worst,
        "cut_needed_at_worst": f"{max(0.0, 1 - 0.1 / worst):.0%} of slicewise's CPU per request",
    }
    return {
        "cpu_at_most_tenth_of_litellm": cpu,
        "added_p50_at_c1_under_2ms": latency_target(results),
        "stream_overhead_under_50us_per_chunk": {"met": max(chunk) < 50.0, "us": per_chunk},
    }


def latency_target(results: dict[str, Any]) -> dict[str, Any]:
    """Judged on the non-streaming answer and on a stream's first chunk; the whole stream is
    shown too, though it also carries the relay of 20 chunks."""
    if "1" not in results["plain"]:
        return {"met": None, "why": "concurrency 1 was not run"}
    plain = results["plain"]["1"]["slicewise"]
    stream = results["stream"]["1"]["slicewise"]
    judged = (plain["added_p50_ms"], stream["added_first_chunk_p50_ms"])
    return {
        "met": max(judged) < 2.0,
        "plain_ms": judged[0],
        "stream_first_chunk_ms": judged[1],
        "stream_whole_ms": stream["added_p50_ms"],
    }
