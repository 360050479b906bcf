"""benchmarks/park.sh: an unfinished benchmark packed into one tar and unpacked again, finished datasets
left out, the FCN cache carried, and nothing already on disk overwritten."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

PARK = Path(__file__).resolve().parents[1] / "benchmarks" / "park.sh"


def _run(mode: str, out: Path, parked: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PARK_DIR": str(parked), "TIMEVQVDM_CACHE": str(cache)}
    return subprocess.run(["bash", str(PARK), mode, str(out)], env=env, capture_output=True, text=True)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_park_then_unpark_restores_unfinished_work_without_overwriting(tmp_path):
    out, parked, cache = tmp_path / "paper", tmp_path / "parked", tmp_path / "cache"
    _write(out / "models/ECG5000/runs/stage1/checkpoint.safetensors", "stage-1 weights")
    _write(out / "evaluation/ECG5000/samples/a.npz", "stored samples")
    _write(out / "models/Saved/model.json", "{}")  # a finished training: the model, not its checkpoints
    _write(out / "models/Saved/runs/stage2_hf/checkpoint.safetensors", "no longer needed")
    _write(out / "models/Done/runs/stage1/checkpoint.safetensors", "finished")
    _write(out / "results/Done.json", '{"status": "ok"}')
    _write(cache / "fcn/key1/weights.safetensors", "fcn")

    proc = _run("park", out, parked, cache)
    assert proc.returncode == 0, proc.stderr
    with tarfile.open(parked / "paper.tar") as tar:
        names = set(tar.getnames())
    assert "models/ECG5000/runs/stage1/checkpoint.safetensors" in names
    assert "evaluation/ECG5000/samples/a.npz" in names
    assert "models/Saved/model.json" in names
    assert not any(name.startswith("models/Saved/runs") for name in names)
    assert "fcn-cache/key1/weights.safetensors" in names
    assert not any(name.startswith("models/Done") for name in names)

    restored, new_cache = tmp_path / "restored" / "paper", tmp_path / "cache2"
    _write(restored / "evaluation/ECG5000/samples/a.npz", "newer samples")
    proc = _run("unpark", restored, parked, new_cache)
    assert proc.returncode == 0, proc.stderr
    assert (restored / "models/ECG5000/runs/stage1/checkpoint.safetensors").read_text() == "stage-1 weights"
    assert (restored / "evaluation/ECG5000/samples/a.npz").read_text() == "newer samples"
    assert (new_cache / "fcn/key1/weights.safetensors").read_text() == "fcn"


def test_park_refuses_when_nothing_is_unfinished_and_unpark_without_a_tar(tmp_path):
    out = tmp_path / "best"
    _write(out / "results/Done.json", '{"status": "ok"}')
    _write(out / "models/Done/model.json", "{}")
    proc = _run("park", out, tmp_path / "parked", tmp_path / "cache")
    assert proc.returncode == 1
    assert "nothing unfinished" in proc.stderr
    proc = _run("unpark", out, tmp_path / "parked", tmp_path / "cache")
    assert proc.returncode == 1
    assert "no " in proc.stderr and "best.tar" in proc.stderr
