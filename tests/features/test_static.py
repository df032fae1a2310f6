from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from slicewise.errors import ArtifactError
from slicewise.features.static import ASSETS, StaticEmbedding

# The shipped table's checksum, pinned to StaticEmbedding.version: a re-distilled table maps
# prompts differently, so it needs a new version (saved routers then ask to be retrained).
TABLE_SHA256 = {1: "ed987f28b7d149fdac01499a3295ec32a0df8f8db2293eb1e307256d468b113b"}


def test_shipped_files_are_small_and_complete() -> None:
    names = {p.name for p in ASSETS.iterdir()}
    assert {"tokenizer.json", "embeddings.safetensors", "LICENSE", "README.md"} <= names
    assert sum(p.stat().st_size for p in ASSETS.iterdir()) < 9_000_000


def test_table_checksum_matches_the_version() -> None:
    digest = hashlib.sha256((ASSETS / "embeddings.safetensors").read_bytes()).hexdigest()
    assert TABLE_SHA256.get(StaticEmbedding.version) == digest, (
        "the static table changed: bump StaticEmbedding.version and record the new sha256 here"
    )


def test_nothing_to_fit_or_save() -> None:
    made = StaticEmbedding()
    before = made.transform(["a prompt"])
    made.fit(["something else entirely"])
    np.testing.assert_array_equal(made.transform(["a prompt"]), before)
    assert made.arrays() == {}


def test_mean_of_token_rows() -> None:
    made = StaticEmbedding()
    table = made._table
    ids = made._ids.ids("hello world")
    expected = table[ids].mean(axis=0)
    np.testing.assert_allclose(
        made.transform(["hello world"])[0], expected / np.linalg.norm(expected), atol=1e-6
    )


def test_unknown_token_drops_out() -> None:
    made = StaticEmbedding()
    np.testing.assert_allclose(
        made.transform(["hello \U0001f600"]), made.transform(["hello"]), atol=1e-6
    )


def test_missing_assets_are_an_artifact_error(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="distill_static"):
        StaticEmbedding(tmp_path)


def test_no_torch_or_model2vec_on_the_hot_path() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from slicewise.features import featurizer; "
        "featurizer('static-minilm').transform(['a prompt', 'another']); "
        "print(sorted(m for m in ('torch', 'model2vec', 'transformers') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
