"""The silent-downgrade demonstration (``bench/downgrade.py``) on the real routerbench outcomes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_check_catches_a_silent_downgrade_and_recalibration_restores_the_target(
    shared_source: Callable[[str], Path],
) -> None:
    data = shared_source("routerbench").parents[1]
    env = {**os.environ, "SLICEWISE_DATA": str(data), "PYTHONPATH": str(ROOT / "src")}
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "downgrade.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=True,
    )
    result = json.loads(run.stdout)
    assert result["control_check"]["exit_code"] == 0
    caught = result["downgrade_check"]
    assert caught["exit_code"] == 1
    assert [m["model"] for m in caught["models_regressed"]] == [result["downgraded"]]
    at_95 = next(v for v in result["verify_downgraded"] if v["share"] == 0.95)
    assert at_95["realised_without_recalibration"] < at_95["promised"] - 0.05
    assert at_95["realised_recalibrated"] >= at_95["promised"] - 0.03  # +-0.03 mixture noise
