"""benchmarks/stage1_ab.py on the tiny preset: both variants fitted and summarised, a rerun skips them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "stage1_ab.py"


def _run(out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--datasets", "GunPoint", "--seeds", "0", "--epochs", "1",
         "--threads", "1", "--out", str(out), *extra],
        capture_output=True, text=True, check=False, cwd=SCRIPT.parent,
    )  # fmt: skip


def test_both_variants_are_fitted_summarised_and_not_refitted(tmp_path):
    out = tmp_path / "ab.json"
    proc = _run(out, "--preset", "tiny")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    fits = result["fits"]["GunPoint"]
    assert set(fits) == {"stem", "no_stem"}
    stem, no_stem = fits["stem"]["0"], fits["no_stem"]["0"]
    # The tiny preset trains on the whole training split: its MSE and the test split's, no held-out part.
    assert {"mse_train", "mse_test"} <= set(stem) and "mse_validation" not in stem
    for band in ("lf", "hf"):  # GunPoint's bands both down-sample, so the stem's removal shows in each
        assert no_stem["n_parameters"][band] < stem["n_parameters"][band]
    summary = result["summary"]["GunPoint"]
    assert summary["no_stem_over_stem_mse_test"] == pytest.approx(
        no_stem["mse_test"]["total"] / stem["mse_test"]["total"]
    )
    assert _run(out, "--preset", "tiny").stdout == ""  # every fit already in the file
    assert json.loads(out.read_text())["fits"] == result["fits"]


def _runs(test_mse: list[float]) -> dict:
    return {str(seed): {"mse_test": {"total": value}, "seconds": 1.0} for seed, value in enumerate(test_mse)}


def test_seed_noise_tells_a_shift_from_the_spread_between_seeds():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import stage1_ab
    finally:
        sys.path.remove(str(SCRIPT.parent))
    overlapping = stage1_ab.seed_noise(
        {"stem": _runs([1.0, 1.4, 0.9, 1.2]), "no_stem": _runs([1.1, 0.8, 1.5, 1.0])}
    )
    assert overlapping["mse_test"]["within_seed_noise"]
    assert overlapping["mse_test"]["stem"]["runs"] == [1.0, 1.4, 0.9, 1.2]
    shifted = stage1_ab.seed_noise(
        {"stem": _runs([1.0, 1.02, 0.98, 1.01]), "no_stem": _runs([2.0, 2.05, 1.97, 2.02])}
    )
    assert not shifted["mse_test"]["within_seed_noise"]
    assert shifted["mse_test"]["welch_p"] < 0.05 and shifted["mse_test"]["mann_whitney_p"] < 0.05
    # Too few seeds on one side: nothing is judged.
    assert stage1_ab.seed_noise({"stem": _runs([1.0, 1.1]), "no_stem": _runs([1.0, 1.2, 1.1])}) == {}
