"""A trained router as one file: safetensors arrays plus a JSON header, no pickled code.

The header (safetensors metadata key ``slicewise``) holds the format version, the router kind,
its models and cards, the featurizer's name and version, the training-data fingerprint, the
calibration table, settings, metrics and the models of the training record. Arrays are prefixed
``router.``, ``features.``, ``cost.`` and ``record.`` (what it learned from, see ``record``;
optional, so files from before it load unchanged). Loading checks each of these and says what
is wrong and what to do.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np

from slicewise import features as feats
from slicewise.cards import ModelCard
from slicewise.errors import ArtifactError
from slicewise.routing.baselines import ConstantRouter, FixedRouter, RandomRouter
from slicewise.routing.calibrate import Calibration
from slicewise.routing.cascade import CascadeRouter
from slicewise.routing.cluster import ClusterRouter
from slicewise.routing.cost import CostModel
from slicewise.routing.ensemble import EnsembleRouter
from slicewise.routing.knn import KnnRouter
from slicewise.routing.predictor import PredictorRouter
from slicewise.routing.record import Record
from slicewise.routing.router import Router

FORMAT = "slicewise-router"
VERSION = 1
ROUTERS: dict[str, type[Router]] = {
    cls.kind: cls
    for cls in (
        PredictorRouter,
        ClusterRouter,
        KnnRouter,
        EnsembleRouter,
        CascadeRouter,
        ConstantRouter,
        FixedRouter,
        RandomRouter,
    )
}


def save(
    router: Router,
    path: str | Path,
    *,
    fingerprint: str = "",
    metrics: dict[str, Any] | None = None,
    record: Record | None = None,
) -> None:
    from safetensors.numpy import save_file

    tensors = {f"router.{k}": np.ascontiguousarray(v) for k, v in router.arrays().items()}
    tensors["cost.fixed"] = router.cost.fixed
    tensors["cost.per_token"] = router.cost.per_token
    if record is not None:
        tensors.update({f"record.{k}": v for k, v in record.tensors().items()})
    featurizer = router.featurizer
    if featurizer is not None:
        tensors.update(
            {f"features.{k}": np.ascontiguousarray(v) for k, v in featurizer.arrays().items()}
        )
    header = {
        "format": FORMAT,
        "version": VERSION,
        "kind": router.kind,
        "models": list(router.models),
        "cards": {m: dataclasses.asdict(c) for m, c in router.cards.items()},
        "featurizer": None if featurizer is None else [featurizer.name, featurizer.version],
        "fingerprint": fingerprint,
        "calibration": None if router.calibration is None else router.calibration.as_dict(),
        "params": router.params(),
        "metrics": metrics or {},
        "record": None if record is None else list(record.models),
        "offsets": None if router.offsets is None else [float(v) for v in router.offsets],
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    save_file(tensors, str(path), metadata={"slicewise": json.dumps(header)})


def header(path: str | Path) -> dict[str, Any]:
    """The JSON header of a router file, checked for format and version."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise ArtifactError(
            f"{path}: no such router file; train one with "
            "`slicewise train --data OUTCOMES --out ROUTER`"
        )
    try:
        with safe_open(str(path), framework="numpy") as handle:
            meta = handle.metadata() or {}
    except Exception as exc:  # noqa: BLE001 - safetensors raises several untyped errors
        raise ArtifactError(
            f"{path}: not a slicewise router file ({exc}); retrain it with `slicewise train`"
        ) from None
    try:
        head = json.loads(meta["slicewise"])
    except (KeyError, json.JSONDecodeError):
        raise ArtifactError(
            f"{path}: a safetensors file, but not a slicewise router (no slicewise header)"
        ) from None
    if head.get("format") != FORMAT:
        raise ArtifactError(f"{path}: format {head.get('format')!r} is not {FORMAT!r}")
    if head.get("version") != VERSION:
        raise ArtifactError(
            f"{path}: router format version {head.get('version')} is not "
            f"supported (this slicewise reads version {VERSION}); retrain it"
        )
    return dict(head)


def load(path: str | Path) -> Router:
    """Restore a router saved by ``save``."""
    from safetensors.numpy import load_file

    head = header(path)
    try:
        tensors = load_file(str(path))
        return _restore(head, tensors)
    except ArtifactError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(
            f"{path}: router file is incomplete or corrupt ({exc}); retrain it"
        ) from None


def load_record(path: str | Path) -> Record | None:
    """The training record saved with a router, or ``None`` for a file without one."""
    from safetensors.numpy import load_file

    models = header(path).get("record")
    if not models:
        return None
    return Record.restore(models, _prefixed(load_file(str(path)), "record."))


def _restore(head: dict[str, Any], tensors: dict[str, np.ndarray]) -> Router:
    kind = head["kind"]
    if kind not in ROUTERS:
        raise ArtifactError(
            f"router kind {kind!r} is unknown to this slicewise; it knows {', '.join(ROUTERS)}"
        )
    featurizer = None
    if head["featurizer"] is not None:
        name, version = head["featurizer"]
        arrays = _prefixed(tensors, "features.")
        featurizer = feats.restore(name, int(version), arrays)
    cost = CostModel(tensors["cost.fixed"], tensors["cost.per_token"])
    calibration = (
        None if head["calibration"] is None else Calibration.from_dict(head["calibration"])
    )
    cards = {m: ModelCard(**c) for m, c in head["cards"].items()}
    router = ROUTERS[kind].restore(
        head["models"],
        cost,
        featurizer,
        calibration,
        cards,
        _prefixed(tensors, "router."),
        head["params"],
    )
    if head.get("offsets") is not None:
        router.offsets = np.array(head["offsets"], dtype=float)
    return router


def _prefixed(tensors: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k.removeprefix(prefix): v for k, v in tensors.items() if k.startswith(prefix)}
