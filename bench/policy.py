"""Policy detection benchmark: one JSON line per measurement.

    PYTHONPATH=src python bench/policy.py                  # everything, ~5 min on one core
    PYTHONPATH=src python bench/policy.py --only recall fpr --show 5   # print misses and hits

Runs on one core (CPU affinity and BLAS threads pinned before numpy loads). Lines:

- ``recall``: per kind, the share of generated values (``bench/policy_samples.py``: Faker in
  17 locales for phones and 18 for IBANs, several layouts, inside sentences at the start,
  middle or end of a message) that findings of that kind cover completely. Target >= 0.99.
- ``fpr``: per routing source (``../shared/data/{routerbench,llmrouter,gsm8k-zeroeval}``,
  prompts without personal data), the share of prompts with any finding, and the findings by
  kind. Target < 1 %. ``--show N`` prints up to N hits per kind to stderr, to inspect.
- ``injection``: the shipped settings in stratified 5-fold cross-validation on the default
  training data (licensed sources, licensed routing prompts as benign, generated examples in
  every fold's training and never scored), at the shipped threshold: precision, recall, F1,
  false-positive rate on the injection data's benign prompts, share of routing prompts flagged
  (``routing_fpr``); the same by length bucket; again with texts that open with the same eight
  words in one fold (template variants); and leave one source out. Target F1 >= 0.9 at
  FPR < 2 %.
- ``compare``: three trainings (licensed; licensed + generated, as shipped; with the
  research-only sources too), each at its own cross-validated threshold, on every source:
  out of fold where trained on it, else as a test set (tensor_trust's injections, routerbench).
- ``latency``: CPU time (``time.thread_time``) of one ``find`` plus one ``score`` on prompts of
  about 100, 500 and 2,000 tokens made of routing prompts (4 characters a token), p50/p99 in
  microseconds, and each part alone. Target: all policy checks 0.3 ms at p50.

The data lives in ``../shared/data`` (or ``$SLICEWISE_DATA``); parts without it say so.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

import argparse  # noqa: E402 - the thread settings above must precede numpy
import json  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import orjson  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from policy_samples import SENTENCES, samples  # noqa: E402
from slicewise.policy import injection  # noqa: E402
from slicewise.policy import injection_train as train  # noqa: E402
from slicewise.policy.detect import Finding, default_detector  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("SLICEWISE_DATA", ROOT.parent / "shared" / "data"))
ROUTING = ("routerbench", "llmrouter", "gsm8k-zeroeval")
SIZES = (100, 500, 2_000)
PARTS = ("recall", "fpr", "injection", "compare", "latency")


def main() -> None:
    args = _parse_args()
    for part in args.only or PARTS:
        for line in RUNNERS[part](args):
            print(json.dumps(line), flush=True)


def recall(args: argparse.Namespace) -> list[dict[str, Any]]:
    detector = default_detector()
    lines = []
    for kind in SENTENCES:
        found, misses = 0, []
        for text, start, end in samples(kind, args.samples, seed=args.seed):
            if _covered(detector.find(text), kind, text, start, end):
                found += 1
            elif len(misses) < args.show:
                misses.append(text[max(0, start - 20) : end + 20])
        for miss in misses:
            print(f"miss {kind}: {miss!r}", file=sys.stderr)
        lines.append(
            {"part": "recall", "kind": kind, "n": args.samples, "recall": found / args.samples}
        )
    return lines


def _covered(findings: list[Finding], kind: str, text: str, start: int, end: int) -> bool:
    """Whether findings of ``kind`` cover every letter and digit of ``text[start:end]``."""
    hidden = [False] * (end - start)
    for f in findings:
        if f.kind == kind:
            for at in range(max(f.start, start), min(f.end, end)):
                hidden[at - start] = True
    return all(hidden[i] or not text[start + i].isalnum() for i in range(end - start))


def fpr(args: argparse.Namespace) -> list[dict[str, Any]]:
    detector = default_detector()
    lines = []
    for source in ROUTING:
        prompts = _routing_prompts(source)
        if prompts is None:
            lines.append({"part": "fpr", "source": source, "skipped": f"no data under {DATA}"})
            continue
        hit, kinds, shown = 0, Counter[str](), Counter[str]()
        for text in prompts:
            findings = detector.find(text)
            hit += bool(findings)
            for f in findings:
                kinds[f.kind] += 1
                if shown[f.kind] < args.show:
                    shown[f.kind] += 1
                    print(
                        f"hit {source} {f.kind}: {text[max(0, f.start - 30) : f.end + 30]!r}",
                        file=sys.stderr,
                    )
        lines.append({"part": "fpr", "source": source, "prompts": len(prompts),
                      "rate": hit / len(prompts), "findings": dict(kinds)})  # fmt: skip
    return lines


def _routing_prompts(source: str) -> list[str] | None:
    path = DATA / source / "dev.jsonl"
    if not path.is_file():
        return None
    rows = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    return ["\n".join(m["content"] for m in row["messages"]) for row in rows]


def injection_quality(args: argparse.Namespace) -> list[dict[str, Any]]:
    if not any((DATA / "injection").glob("*.dev.jsonl")):
        return [{"part": "injection", "skipped": f"no data under {DATA / 'injection'}"}]
    examples, extra = train.training_examples(DATA), train.synthetic_examples()
    shipped = injection.default_scorer()
    settings = train.Settings(regularisation=_shipped_regularisation(), pairs=shipped.pairs)
    scores = train.cross_validate(examples, settings, always=extra)
    labels = np.array([e.attack for e in examples])
    routing = np.array([train.is_routing(e) for e in examples])
    threshold = shipped.threshold
    result = train.measure(scores[~routing], labels[~routing], threshold)
    result["routing_fpr"] = train.measure(scores[routing], labels[routing], threshold)["fpr"]
    lines = [{"part": "injection", "eval": "5-fold", "threshold": threshold, **result}]
    lengths = np.array([len(e.text) for e in examples])
    for low, high in ((0, 200), (200, 1000), (1000, 10**9)):
        inside = (lengths >= low) & (lengths < high) & ~routing
        result = train.measure(scores[inside], labels[inside], threshold)
        lines.append({"part": "injection", "eval": f"5-fold, {low}-{high} chars", **result})
    scores = train.cross_validate(examples, settings, by_opening=True, always=extra)
    result = train.measure(scores[~routing], labels[~routing], threshold)
    lines.append({"part": "injection", "eval": "5-fold, template variants in one fold", **result})
    for source, result in train.leave_one_source_out(examples, settings, threshold, extra).items():
        lines.append({"part": "injection", "eval": f"left out {source}", **result})
    return lines


TRAININGS = {
    "a: licensed": (False, False),
    "b: licensed + synthetic (shipped)": (False, True),
    "c: + research sources": (True, True),
}
"""What ``compare`` trains on: (research sources, generated examples)."""


def compare(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Each training of ``TRAININGS`` at its own threshold (best F1 in 5-fold cross-validation
    with FPR under 2 % on the injection data's benign rows), on every source: out of fold
    where trained on it, else as a test set of the weights fit on everything trained on."""
    if not any((DATA / "injection").glob("*.dev.jsonl")):
        return [{"part": "compare", "skipped": f"no data under {DATA / 'injection'}"}]
    everything = train.training_examples(DATA, research=True)
    settings = train.Settings(regularisation=_shipped_regularisation())
    lines = []
    for name, (research, synthetic) in TRAININGS.items():
        used = train.training_examples(DATA, research=research)
        extra = train.synthetic_examples() if synthetic else []
        out_of_fold = train.cross_validate(used, settings, always=extra)
        scores = dict(zip(map(_key, used), out_of_fold, strict=True))
        measured = [e for e in used if not train.is_routing(e)]
        threshold = train.choose_threshold(
            np.array([scores[_key(e)] for e in measured]), np.array([e.attack for e in measured])
        )
        scorer = train.fit(used + extra, settings, threshold)
        for e in everything:
            scores.setdefault(_key(e), scorer.score(e.text))
        lines += _compared(name, threshold, everything, scores, {e.source for e in used})
    return lines


def _key(example: train.Example) -> tuple[str, str]:
    return example.source, example.text


def _compared(
    name: str, threshold: float, examples: list[train.Example], scores: dict[Any, float],
    trained: set[str],
) -> list[dict[str, Any]]:  # fmt: skip
    licensed = [e for e in examples if e.source in train.LICENSED]
    groups = {"licensed (5-fold)": licensed}
    groups |= {e.source: [x for x in examples if x.source == e.source] for e in examples}
    groups["all benign"] = [e for e in examples if not e.attack]
    lines = []
    for group, members in groups.items():
        result = train.measure(
            np.array([scores[_key(e)] for e in members]), np.array([e.attack for e in members]),
            threshold,
        )  # fmt: skip
        how = "5-fold" if group in trained or group.startswith("licensed") else "test only"
        if group == "all benign":
            how = "mixed"
        lines.append({"part": "compare", "training": name, "threshold": threshold,
                      "eval": group, "how": how, **result})  # fmt: skip
    return lines


def _shipped_regularisation() -> float:
    from safetensors import safe_open

    with safe_open(str(injection.WEIGHTS), framework="numpy") as stored:
        return float(
            (stored.metadata() or {}).get("regularisation", train.Settings().regularisation)
        )


def latency(args: argparse.Namespace) -> list[dict[str, Any]]:
    pool = [p for source in ROUTING for p in (_routing_prompts(source) or [])]
    made_of = "routing prompts"
    if not pool:  # every sentence holds a finding: a worst case, not a typical one
        pool = [text for kind in SENTENCES for text, _, _ in samples(kind, 50)]
        made_of = "generated sentences, each with personal data or a secret"
    rng = random.Random(args.seed)
    detector, scorer = default_detector(), injection.default_scorer()
    lines = []
    for tokens in SIZES:
        prompts = [_prompt_of(rng, pool, tokens * 4) for _ in range(args.timed)]
        parts: dict[str, Callable[[str], object]] = {
            "detect": detector.find, "injection": scorer.score,
            "both": lambda t: (detector.find(t), scorer.score(t)),
        }  # fmt: skip
        result: dict[str, Any] = {
            "part": "latency", "tokens": tokens, "prompts": len(prompts), "made_of": made_of
        }  # fmt: skip
        for name, call in parts.items():
            micros = _timed(call, prompts)
            result[f"{name}_p50_us"] = round(float(np.percentile(micros, 50)), 1)
            result[f"{name}_p99_us"] = round(float(np.percentile(micros, 99)), 1)
        lines.append(result)
    return lines


def _prompt_of(rng: random.Random, pool: list[str], chars: int) -> str:
    parts: list[str] = []
    while sum(map(len, parts)) < chars:
        parts.append(rng.choice(pool))
    return "\n\n".join(parts)[:chars]


def _timed(call: Callable[[str], object], prompts: list[str]) -> np.ndarray:
    for text in prompts[:20]:
        call(text)
    micros = np.empty(len(prompts))
    for i, text in enumerate(prompts):
        start = time.thread_time_ns()
        call(text)
        micros[i] = (time.thread_time_ns() - start) / 1000
    return micros


RUNNERS: dict[str, Callable[[argparse.Namespace], list[dict[str, Any]]]] = {
    "recall": recall, "fpr": fpr, "injection": injection_quality, "compare": compare,
    "latency": latency,
}  # fmt: skip


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=PARTS, help="run only these parts")
    parser.add_argument("--samples", type=int, default=1000, help="generated values per kind")
    parser.add_argument("--timed", type=int, default=2000, help="prompts timed per size")
    parser.add_argument("--show", type=int, default=0, help="print this many misses/hits")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


if __name__ == "__main__":
    main()
