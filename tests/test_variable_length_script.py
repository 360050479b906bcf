"""benchmarks/variable_length.py: the issue's figures from an evaluation record, and finished datasets skipped."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "variable_length.py"


@pytest.fixture(scope="module")
def script():
    sys.path.insert(0, str(SCRIPT.parent))  # the script imports its sibling `common`
    try:
        spec = importlib.util.spec_from_file_location("variable_length_script", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return module


def test_summary_reads_fid_against_the_floor_and_keeps_the_length_check(script):
    lengths = {"ks_statistic": 0.1, "ks_p_value": 0.9}
    metrics = {
        "reference": {"fid_train_test": 2.0, "fid_half_split": 1.0, "lengths_test": lengths},
        "memorisation": {"copy_share": 0.04, "suspected_copying": False},
        "unconditional": {"fid": 3.0, "fid_std": 0.1, "lengths": lengths},
        "conditional": {"fid": 3.2, "fid_std": 0.1, "lengths": {**lengths, "per_class": {}}},
    }
    summary = script.summarise(metrics)
    assert (
        summary["unconditional"]["fid_over_floor"] == 1.5 and summary["unconditional"]["no_learned_padding"]
    )
    assert (
        summary["conditional"]["fid_over_floor"] == 1.6 and not summary["conditional"]["no_learned_padding"]
    )
    assert summary["conditional"]["lengths"]["per_class"] == {} and summary["copy_share"] == 0.04
    assert summary["lengths_test"] == lengths


def test_finished_datasets_are_skipped_and_other_settings_refused(script, tmp_path, monkeypatch):
    argv = ["JapaneseVowels", "--preset", "tiny", "--out", str(tmp_path)]
    settings = script.settings_of(script.parse_args(argv))
    (tmp_path / "JapaneseVowels.json").write_text(json.dumps({"status": "ok", "settings": settings}))
    monkeypatch.setattr(script, "run_dataset", lambda *a: pytest.fail("a finished dataset ran again"))
    assert script.main(argv) == 0
    with pytest.raises(SystemExit, match="other settings"):
        script.main([*argv, "--runs", "1"])
