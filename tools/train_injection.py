"""Train the injection scorer that ``slicewise.policy.injection`` ships, from the labelled data.

    PYTHONPATH=src python tools/train_injection.py                 # ~3 min on one core
    PYTHONPATH=src python tools/train_injection.py --exclude tensor_trust   # licence-clean

Reads ``../shared/data/injection/*.dev.jsonl`` (or under ``$SLICEWISE_DATA``, or ``--data``);
the data is never copied into the repository, only the learned weights. For each setting of a
small grid (C, word pairs or not) it scores the examples by stratified 5-fold cross-validation
and picks the threshold of best F1 whose false-positive rate on benign prompts is at most 1 %.
It keeps the simplest setting (single words before pairs, smaller C first) within 0.002 of the
best F1, refits it on every example with that threshold, and writes into ``--out`` (default
``src/slicewise/policy/injection_model``):

- ``weights.safetensors``: ``terms`` (UTF-8, newline-separated), ``weight`` (coefficient x
  idf), ``idf`` and ``params`` = [bias, threshold, pairs];
- ``README.md``: how it was made, the data's sources and licences, the cross-validated and
  leave-one-source-out numbers.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

from slicewise.policy import injection_train as train

logger = logging.getLogger("train_injection")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = Path(os.environ.get("SLICEWISE_DATA", ROOT.parent / "shared" / "data")) / "injection"
DEFAULT_OUT = ROOT / "src" / "slicewise" / "policy" / "injection_model"
GRID = [train.Settings(regularisation=c, pairs=False) for c in (3.0, 10.0, 30.0)]
MAX_FPR = 0.01
TIE = 0.002

LICENCES = """\
| source | labels | licence |
|---|---|---|
| jailbreak_classification (github.com/jackhhao/llm-warden) | jailbreak, benign | MIT \
(the HF card says Apache-2.0) |
| jailbreak_llms (verazuo/jailbreak_llms, copied in yunwei37/satml-llmail-injection) | \
jailbreak | MIT upstream |
| tensor_trust (github.com/HumanCompatibleAI/tensor-trust-data) | injection | **none \
stated**: research use only until the data repository settles one |
| gpteacher (github.com/teknium1/GPTeacher) | benign | MIT (GPT-4 output; OpenAI's terms \
may apply) |
"""


def main() -> None:
    args = _parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    examples = train.load_examples(Path(args.data), exclude=args.exclude)
    if not examples:
        raise SystemExit(f"no examples under {args.data} (expected *.dev.jsonl)")
    examples += [] if args.no_routing else train.routing_examples(Path(args.data).parent)
    labels = np.array([e.attack for e in examples])
    logger.info("%d examples, %d attacks", len(examples), int(labels.sum()))

    tried = [_try(examples, labels, settings) for settings in GRID]
    best = max(t[2]["f1"] for t in tried)
    settings, threshold, result = next(t for t in tried if t[2]["f1"] >= best - TIE)
    by_source = train.leave_one_source_out(examples, settings, threshold)
    scorer = train.fit(examples, settings, threshold)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    metadata = {"regularisation": str(settings.regularisation), "threshold": str(threshold)}
    save_file(scorer.arrays(), str(out / "weights.safetensors"), metadata=metadata)
    notes = {"grid": [(*t[:2], t[2]["f1"]) for t in tried], "cv": result, "loso": by_source}
    (out / "README.md").write_text(
        _readme(settings, threshold, len(scorer.arrays()["weight"]), notes, args)
    )
    print(json.dumps({"settings": repr(settings), "threshold": threshold, **notes}, default=str))


def _try(
    examples: list[train.Example], labels: np.ndarray, settings: train.Settings
) -> tuple[train.Settings, float, dict[str, float]]:
    """Out-of-fold scores; the threshold and the numbers are those of the injection data, and
    ``routing_fpr`` the share of (out-of-fold) routing prompts flagged."""
    scores = train.cross_validate(examples, settings)
    routing = np.array([e.source == train.ROUTING for e in examples])
    threshold = train.choose_threshold(scores[~routing], labels[~routing], MAX_FPR)
    result = train.measure(scores[~routing], labels[~routing], threshold)
    if routing.any():
        result["routing_fpr"] = train.measure(scores[routing], labels[routing], threshold)["fpr"]
    logger.info("%r: threshold %.2f, %s", settings, threshold, result)
    return settings, threshold, result


def _readme(
    settings: train.Settings, threshold: float, size: int, notes: dict, args: argparse.Namespace
) -> str:
    cv = notes["cv"]
    loso = "\n".join(
        f"| {source} | {_pct(r['recall'])} | {_pct(r['fpr'])} |"
        for source, r in notes["loso"].items()
    )
    excluded = f" (sources left out: {', '.join(args.exclude)})" if args.exclude else ""
    routing = "" if args.no_routing else ", with the routing prompts beside it as benign examples"
    words = "words and adjacent word pairs" if settings.pairs else "words"
    return f"""# Injection scorer weights

Made by `tools/train_injection.py` from `../shared/data/injection/*.dev.jsonl`{excluded}{routing}.
The data itself is not in this repository.

Logistic regression (C={settings.regularisation}, balanced classes) on binary idf-weighted
L2-normalised terms: lower-case {words} found in at least {settings.min_examples} examples,
{size} terms. Threshold {threshold:.2f}: the best F1 in 5-fold cross-validation among
thresholds whose false-positive rate on the injection data's benign prompts is at most
{MAX_FPR:.0%}.

5-fold cross-validation at that threshold, on the injection data: precision
{cv["precision"]:.3f}, recall {cv["recall"]:.3f}, F1 {cv["f1"]:.3f}, false-positive rate on
benign {cv["fpr"]:.4f} ({cv["attacks"]} attacks, {cv["benign"]} benign). Routing prompts
flagged (out of fold): {cv.get("routing_fpr", float("nan")):.4f}.

Leave one source out (trained on the others and the routing prompts; a source has attacks or
benign rows or both):

| left out | recall on its attacks | false-positive rate on its benign |
|---|---|---|
{loso}

## Data and licences

The weights are derived from these sources (details in the data's SOURCE.md files). The
routing prompts: routerbench (no licence stated: research use with attribution), llmrouter
(MIT), gsm8k-zeroeval (Apache-2.0 and MIT).

{LICENCES}
Because tensor_trust has no licence, weights trained on it carry that uncertainty; run
`tools/train_injection.py --exclude tensor_trust` for weights free of it (at a cost in recall
on injection-style attacks: see the leave-one-source-out row above).
"""


def _pct(value: float) -> str:
    return "-" if value != value else f"{value:.3f}"


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="folder of *.dev.jsonl")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="where to write the weights")
    parser.add_argument("--exclude", nargs="*", default=[], help="sources to leave out")
    parser.add_argument(
        "--no-routing", action="store_true", help="no routing prompts as benign examples"
    )
    return parser.parse_args()


if __name__ == "__main__":
    main()
