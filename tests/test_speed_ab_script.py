"""benchmarks/speed_ab.py on the pinned tiny model: two checkouts of one revision sample the same values
and both sides' times are recorded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "speed_ab.py"
PINNED_MODEL = ROOT / "tests" / "fixtures" / "pinned_tiny_model"


def worktrees() -> list[str]:
    listing = subprocess.run(["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True)
    return listing.stdout.splitlines()


def test_one_revision_against_itself_samples_the_same_values(tmp_path):
    out = tmp_path / "ab.json"
    before = worktrees()
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--before", "HEAD", "--after", "HEAD", "--model", str(PINNED_MODEL),
         "--n", "4", "--rounds", "1", "--threads", "1", "--out", str(out)],
        capture_output=True, text=True, check=False, cwd=SCRIPT.parent,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["max_abs_difference_of_samples"] == 0.0
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout
    assert result["revisions"] == {"before": head.strip(), "after": head.strip()}
    assert set(result["speedup"]) == {"sampling", "stage2_step_lf", "stage2_step_hf"}
    for what, runs in result["runs_s"].items():
        assert len(runs["before"]) == len(runs["after"]) == 1, what
        assert runs["before"][0] > 0 and runs["after"][0] > 0
    assert worktrees() == before  # the temporary checkouts are gone


def test_stage1_mode_times_each_sides_own_tokenizer(tmp_path):
    out = tmp_path / "ab.json"
    before = worktrees()
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--before", "HEAD", "--stage1", "--preset", "tiny", "--length", "48",
         "--batch", "4", "--rounds", "1", "--threads", "1", "--out", str(out)],
        capture_output=True, text=True, check=False, cwd=SCRIPT.parent,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert (result["preset"], result["length"], result["batch"]) == ("tiny", 48, 4)
    assert set(result["speedup"]) == {"stage1_step"}
    runs = result["runs_s"]["stage1_step"]
    assert len(runs["before"]) == len(runs["after"]) == 1
    assert result["speedup"]["stage1_step"] == runs["before"][0] / runs["after"][0]
    # Each side counted the parameters of the tokenizer its own code builds: here the same code.
    assert result["parameters"]["before"] == result["parameters"]["after"]
    assert set(result["parameters"]["after"]) == {"lf", "hf"}
    assert worktrees() == before
