"""Training and measuring the injection scorer (scikit-learn; never imported when serving).

``tools/train_injection.py`` calls ``fit`` on the labelled examples and writes the weights that
``slicewise.policy.injection`` ships; ``bench/policy.py`` calls ``cross_validate`` and
``leave_one_source_out``. Out-of-fold scores come from ``Linear.score``, the serving code
itself, so what is measured is what runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from slicewise.policy import injection_synthetic as synthetic
from slicewise.policy.injection import Linear, terms, words

ATTACK_LABELS = frozenset({"injection", "jailbreak"})
LICENSED = ("jailbreak_classification", "jailbreak_llms", "gpteacher")
"""The injection data's sources under an open licence (MIT): the shipped weights use only these."""
RESEARCH = ("tensor_trust",)
"""Sources without a licence (research use only): training takes them only when asked."""
ROUTING_LICENSED = ("llmrouter", "gsm8k-zeroeval")
ROUTING_RESEARCH = ("routerbench",)
ROUTING = "routing"
"""The source-name prefix of routing prompts added as benign examples (``routing/llmrouter``)."""
SYNTHETIC = "synthetic"
"""The source name of the generated examples (``synthetic_examples``)."""


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    attack: bool
    source: str


@dataclass(frozen=True, slots=True)
class Settings:
    regularisation: float = 10.0
    """Logistic regression's C: larger fits the training examples more closely."""
    pairs: bool = False
    """Adjacent word pairs as terms besides single words (F1 +0.001 in cross-validation, at
    three times the scoring time: off)."""
    min_examples: int = 2
    """A term enters the vocabulary when this many training texts contain it."""


def load_examples(folder: Path, sources: Sequence[str] | None = None) -> list[Example]:
    """The ``*.dev.jsonl`` rows of ``folder`` (``id``, ``text``, ``label``, ``source``) whose
    source is in ``sources`` (every source when None)."""
    examples = []
    for path in sorted(folder.glob("*.dev.jsonl")):
        for line in path.read_bytes().splitlines():
            row = orjson.loads(line)
            if sources is None or row["source"] in sources:
                examples.append(Example(row["text"], row["label"] in ATTACK_LABELS, row["source"]))
    return examples


def routing_examples(data: Path, sources: Sequence[str] = ROUTING_LICENSED) -> list[Example]:
    """The routing prompts of ``data/<source>/dev.jsonl`` as benign examples (source
    ``routing/<source>``): everyday questions, maths and code, whose short lower-case questions
    the injection data's benign rows (all instructions in persona or task form) do not cover."""
    examples = []
    for source in sources:
        path = data / source / "dev.jsonl"
        for line in path.read_bytes().splitlines() if path.is_file() else []:
            text = "\n".join(m["content"] for m in orjson.loads(line)["messages"])
            examples.append(Example(text, False, f"{ROUTING}/{source}"))
    return examples


def is_routing(example: Example) -> bool:
    return example.source.startswith(ROUTING)


def synthetic_examples(count: int = 800, seed: int = 0) -> list[Example]:
    """``count`` generated injection attempts and as many harmless requests in the same words
    (``injection_synthetic``), source ``synthetic``."""
    made = [Example(t, True, SYNTHETIC) for t in synthetic.attacks(count, seed)]
    return made + [Example(t, False, SYNTHETIC) for t in synthetic.benign(count, seed)]


def training_examples(data: Path, research: bool = False, routing: bool = True) -> list[Example]:
    """The labelled rows of ``data/injection`` and, with ``routing``, the routing prompts of
    ``data`` as benign examples: the licensed sources only, or every source with ``research``
    (tensor_trust, routerbench: no licence stated, research use only)."""
    sources = LICENSED + RESEARCH if research else LICENSED
    examples = load_examples(data / "injection", sources)
    if routing:
        examples += routing_examples(
            data, ROUTING_LICENSED + ROUTING_RESEARCH if research else ROUTING_LICENSED
        )
    return examples


def fit(examples: Sequence[Example], settings: Settings, threshold: float = 0.5) -> Linear:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(
        analyzer=lambda text: list(terms(text, settings.pairs)),
        binary=True,
        min_df=settings.min_examples,
    )
    matrix = vectorizer.fit_transform([e.text for e in examples])
    model = LogisticRegression(
        C=settings.regularisation, class_weight="balanced", max_iter=5000
    ).fit(matrix, np.array([e.attack for e in examples]))
    vocabulary = vectorizer.get_feature_names_out()
    idf = vectorizer.idf_
    weight = model.coef_[0] * idf
    table = {str(t): (float(w), float(i)) for t, w, i in zip(vocabulary, weight, idf, strict=True)}
    return Linear(table, float(model.intercept_[0]), threshold, settings.pairs)


def cross_validate(
    examples: Sequence[Example],
    settings: Settings,
    folds: int = 5,
    seed: int = 0,
    by_opening: bool = False,
    always: Sequence[Example] = (),
) -> np.ndarray:
    """Out-of-fold scores of a stratified ``folds``-fold split; with ``by_opening``, texts
    whose first eight words agree (variants of one jailbreak template) share a fold. The
    ``always`` examples (generated ones) join every fold's training and are never scored."""
    from sklearn.model_selection import GroupKFold, StratifiedKFold

    labels = np.array([e.attack for e in examples])
    scores = np.zeros(len(examples))
    if by_opening:
        openings = [" ".join(words(e.text)[:8]) for e in examples]
        groups = np.unique(openings, return_inverse=True)[1]
        splits = GroupKFold(folds).split(np.zeros(len(labels)), labels, groups)
    else:
        splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(
            np.zeros(len(labels)), labels
        )
    for train, test in splits:
        scorer = fit([examples[i] for i in train] + list(always), settings)
        scores[test] = [scorer.score(examples[i].text) for i in test]
    return scores


def leave_one_source_out(
    examples: Sequence[Example],
    settings: Settings,
    threshold: float,
    always: Sequence[Example] = (),
) -> dict[str, dict[str, float]]:
    """For each source but the routing prompts: train on the others (and ``always``),
    measure on it."""
    results = {}
    for source in sorted({e.source for e in examples if not is_routing(e)}):
        scorer = fit([e for e in examples if e.source != source] + list(always), settings)
        held = [e for e in examples if e.source == source]
        scores = np.array([scorer.score(e.text) for e in held])
        results[source] = measure(scores, np.array([e.attack for e in held]), threshold)
    return results


def measure(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, float]:
    """Precision, recall, F1 and false-positive rate of ``scores >= threshold``, with counts;
    a rate without a denominator (no attack, no benign example) is NaN."""
    flagged = scores >= threshold
    tp = int(np.sum(flagged & labels))
    fp = int(np.sum(flagged & ~labels))
    fn = int(np.sum(~flagged & labels))
    attacks, benign = int(labels.sum()), int((~labels).sum())
    return {
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "recall": tp / attacks if attacks else float("nan"),
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan"),
        "fpr": fp / benign if benign else float("nan"),
        "attacks": attacks,
        "benign": benign,
    }


def choose_threshold(scores: np.ndarray, labels: np.ndarray, max_fpr: float = 0.02) -> float:
    """The threshold of highest F1 among those whose false-positive rate is under
    ``max_fpr``, on a grid of 0.01; ties go to the higher (more cautious) threshold."""
    best, best_f1 = 0.99, -1.0
    for threshold in np.round(np.arange(0.05, 1.0, 0.01), 2):
        result = measure(scores, labels, float(threshold))
        if result["fpr"] < max_fpr and result["f1"] >= best_f1:
            best, best_f1 = float(threshold), result["f1"]
    return best
