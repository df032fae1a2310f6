from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from slicewise.errors import ArtifactError, DataError
from slicewise.features import prompt_text
from slicewise.outcomes import load_outcomes
from slicewise.routing import artifact
from slicewise.routing.cluster import ClusterRouter
from slicewise.routing.ensemble import EnsembleRouter
from slicewise.routing.knn import KnnRouter
from slicewise.routing.target import Target
from slicewise.routing.train import DEFAULT_KIND, KINDS, LEARNED, Settings, train

FAST = Settings(features="tfidf", folds=3)


def realised(router, table, target: Target) -> tuple[float, np.ndarray]:
    table = table.select_models(router.models)
    quality, cost = router.predict([prompt_text(m) for m in table.messages])
    choice = router.choose(quality, cost, target)
    return float(table.scores[np.arange(len(table)), choice].mean()), choice


@pytest.mark.parametrize("kind", LEARNED)
def test_learned_router_sends_hard_prompts_to_the_strong_model(outcomes_file, kind) -> None:
    router = train(
        load_outcomes(outcomes_file(400)),
        Settings(kind=kind, features="tfidf", folds=3, clusters=8),
    )
    fresh = load_outcomes(outcomes_file(200, seed=7, name="fresh.jsonl"))
    _, choice = realised(router, fresh, Target("share", 0.95))
    hard = np.array([t == "hard" for t in fresh.tasks])
    large = router.models.index("large")
    assert (choice[hard] == large).mean() > 0.9
    assert (choice[~hard] != large).mean() > 0.9


@pytest.mark.parametrize("share", [0.8, 0.95])
def test_realised_quality_lands_on_the_target(outcomes_file, share: float) -> None:
    router = train(load_outcomes(outcomes_file(600)), FAST)
    assert router.calibration is not None
    fresh = load_outcomes(outcomes_file(2000, seed=3, name="fresh.jsonl"))  # 0.04: about 4 SE
    quality, _ = realised(router, fresh, Target("share", share))
    goal = share * router.calibration.best_quality
    assert abs(quality - goal) < 0.04


def test_cheaper_targets_cost_less(outcomes_file) -> None:
    router = train(load_outcomes(outcomes_file(400)), FAST)
    table = load_outcomes(outcomes_file(100, seed=2, name="fresh.jsonl"))
    spend = []
    for share in (0.6, 0.8, 1.0):
        _, choice = realised(router, table, Target("share", share))
        spend.append(table.costs[np.arange(len(table)), choice].mean())
    assert spend[0] <= spend[1] <= spend[2]
    assert spend[0] < spend[2]


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_trains_saves_and_loads(outcomes_file, tmp_path: Path, kind: str) -> None:
    table = load_outcomes(outcomes_file(120))
    router = train(table, Settings(kind=kind, features="tfidf", folds=3, clusters=4))
    path = tmp_path / "r.safetensors"
    artifact.save(router, path, fingerprint=table.fingerprint)
    again = artifact.load(path)
    texts = [prompt_text(m) for m in table.messages[:20]]
    q1, c1 = router.predict(texts)
    q2, c2 = again.predict(texts)
    assert np.allclose(q1, q2, atol=1e-5)
    assert np.allclose(c1, c2)
    target = Target("share", 0.9)
    assert (router.choose(q1, c1, target) == again.choose(q2, c2, target)).all()
    assert artifact.header(path)["fingerprint"] == table.fingerprint


def test_route_explains_one_decision(outcomes_file) -> None:
    router = train(load_outcomes(outcomes_file(200)), FAST)
    route = router.route(
        (("user", "What is the capital of Peru? Answer in one word."),), Target("share", 0.9)
    )
    assert route.model in router.models
    assert {c.model for c in route.candidates} == set(router.models)
    assert route.model in route.reason
    assert "target share=0.9" in route.reason
    only = router.route((("user", "hello"),), None, candidates=["large"])
    assert only.model == "large"


def test_cluster_router_takes_a_new_model_without_retraining(outcomes_file) -> None:
    table = load_outcomes(outcomes_file(400))
    router = train(table, Settings(kind="cluster", features="tfidf", folds=3, clusters=8))
    assert isinstance(router, ClusterRouter)
    probes = load_outcomes(outcomes_file(300, seed=5, name="probe.jsonl"))
    texts = [prompt_text(m) for m in probes.messages]
    embedding = router.featurize(texts).embedding
    assert embedding is not None
    # a "new" model that behaves like small: good on easy prompts only
    scores = probes.scores[:, probes.models.index("small")]
    grown = router.with_model("small-v2", embedding, scores, 0.0, 1e-8)
    assert grown.models[-1] == "small-v2"
    fresh = load_outcomes(outcomes_file(200, seed=9, name="fresh.jsonl"))
    q, _ = grown.predict([prompt_text(m) for m in fresh.messages])
    hard = np.array([t == "hard" for t in fresh.tasks])
    assert q[~hard, -1].mean() - q[hard, -1].mean() > 0.5
    # the other models' profiles are unchanged
    assert np.allclose(grown.profile[:, :-1], router.profile)


def test_too_little_data_is_a_clear_error(outcomes_file) -> None:
    with pytest.raises(DataError, match="training needs at least 10"):
        train(load_outcomes(outcomes_file(5)), FAST)


def test_corrupt_and_foreign_artifacts_are_refused(tmp_path: Path, outcomes_file) -> None:
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(ArtifactError, match="not a slicewise router file"):
        artifact.load(junk)
    with pytest.raises(ArtifactError, match="no such router file"):
        artifact.load(tmp_path / "missing.safetensors")
    router = train(load_outcomes(outcomes_file(60)), Settings(kind="constant"))
    path = tmp_path / "r.safetensors"
    artifact.save(router, path)
    data = bytearray(path.read_bytes())
    text = bytes(data).replace(b'\\"version\\": 1', b'\\"version\\": 9')
    path.write_bytes(text)
    with pytest.raises(ArtifactError, match="version 9 is not supported"):
        artifact.load(path)


def test_knn_router_reads_quality_off_similar_prompts(outcomes_file) -> None:
    table = load_outcomes(outcomes_file(300))
    router = train(table, Settings(kind="knn", features="tfidf", folds=3))
    assert isinstance(router, KnnRouter)
    fresh = load_outcomes(outcomes_file(100, seed=4, name="fresh.jsonl"))
    quality, _ = router.predict([prompt_text(m) for m in fresh.messages])
    hard = np.array([t == "hard" for t in fresh.tasks])
    small = router.models.index("small")
    assert quality[~hard, small].mean() - quality[hard, small].mean() > 0.5
    # one prompt or a batch larger than a block: the same predictions
    one, _ = router.predict([prompt_text(fresh.messages[0])])
    assert np.allclose(one[0], quality[0], atol=1e-6)


def test_ensemble_is_the_mean_of_its_members(outcomes_file) -> None:
    router = train(load_outcomes(outcomes_file(200)), Settings(features="tfidf", folds=3))
    assert router.kind == DEFAULT_KIND == "ensemble"
    assert isinstance(router, EnsembleRouter)
    features = router.featurize(["Prove that the integral is invariant.", "Capital of Peru?"])
    both = router.predictor.predict_quality(features) + router.knn.predict_quality(features)
    assert np.allclose(router.predict_quality(features), both / 2)
