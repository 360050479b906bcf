"""benchmarks/layout_ab.py with this checkout's U-Net on both sides: the same weights give the same outputs,
and every round of both versions is timed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "layout_ab.py"


def test_a_version_against_itself_gives_the_same_outputs(tmp_path):
    out = tmp_path / "ab.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--old", str(ROOT / "src" / "timevqvdm" / "prior" / "unet.py"),
         "--batch", "2", "--n", "4", "--repeats", "2", "--threads", "1", "--out", str(out)],
        capture_output=True, text=True, check=False, cwd=SCRIPT.parent,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    for band in ("lf", "hf"):
        assert result[band]["max_abs_output_difference"] == 0.0
        for what in ("training_step", "sampling_forward"):
            runs = result[band][what]["runs_s"]
            assert len(runs["old"]) == len(runs["new"]) == 2
            assert result[band][what]["old_over_new"] > 0
