"""benchmarks/speed.py --no-run: the speed JSON assembled from cases measured elsewhere (a lent GPU whose
time ran out), with nothing measured here and every missing case said to be missing."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SPEED = Path(__file__).resolve().parents[1] / "benchmarks" / "speed.py"


def _key(case: dict) -> str:
    return json.dumps({**case, "threads": 2, "repeats": 3}, sort_keys=True)


def test_no_run_assembles_finished_cases_and_marks_the_rest(tmp_path):
    unet = {"environment": {"device": "cuda", "gpu": "Some GPU"}, "matmul_peak_gflops": {"fp32": 1.0}}
    length = {"length": 150, "stage1_step_s_b128": 0.02, "stage2_step_s_b128": {"lf": 0.03, "hf": 0.05},
              "peak_memory_mb": 100.0}  # fmt: skip
    cases = tmp_path / "cases.json"
    cases.write_text(
        json.dumps({_key({"kind": "unet"}): unet, _key({"kind": "length", "length": 150}): length})
    )
    out = tmp_path / "speed.json"
    proc = subprocess.run(
        [sys.executable, str(SPEED), "--device", "cuda", "--no-run", "--cases", str(cases), "--out", str(out),
         "--lengths", "150", "500", "--counts", "256"],
        capture_output=True, text=True, check=False, cwd=SPEED.parent,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["environment"] == {
        "device": "cuda",
        "gpu": "Some GPU",
        "assembled_offline_from": "cases.json",
    }
    assert result["unet_forward"] == {"matmul_peak_gflops": {"fp32": 1.0}}
    assert result["training_step_b128"] == {"stage1_s": 0.02, "stage2_s": {"lf": 0.03, "hf": 0.05}}
    missing = result["by_length"][1]
    assert missing["length"] == 500 and missing["error"].startswith("not measured")
    unmeasured = result["by_count"] + [result["by_count_interleaved"], result["long_series"]]
    assert all("not measured" in row["error"] for row in unmeasured)
    assert result["scaling"]["sampling_time_vs_count"] == []
    assert result["scaling_exponents"]["sampling_time_vs_count"] is None
    assert result["long_series_fits_8gb"] is None
    assert json.loads(cases.read_text()).keys() == {
        _key({"kind": "unet"}),
        _key({"kind": "length", "length": 150}),
    }


def test_growth_exponent_is_the_log_log_slope():
    sys.path.insert(0, str(SPEED.parent))  # speed.py imports its sibling `common`
    try:
        spec = importlib.util.spec_from_file_location("speed_script", SPEED)
        speed = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(speed)
    finally:
        sys.path.remove(str(SPEED.parent))
    linear = speed.ratios([{"n": 256, "s": 2.0}, {"n": 1024, "s": 8.0}, {"n": 4096, "s": 32.0}], "s", "n")
    quadratic = speed.ratios([{"n": 1, "s": 1.0}, {"n": 2, "s": 4.0}, {"n": 4, "s": 16.0}], "s", "n")
    assert speed.growth_exponent(linear) == pytest.approx(1.0)
    assert speed.growth_exponent(quadratic) == pytest.approx(2.0)
    assert speed.growth_exponent(linear[:1]) is None
