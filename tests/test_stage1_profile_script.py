"""benchmarks/stage1_profile.py on a tiny tokenizer: every profiled microsecond lands in one group, and the
parameter table adds up to the tokenizer's own count."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from timevqvdm.config import get_preset
from timevqvdm.tokenizer import build_tokenizer

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "stage1_profile.py"


def test_the_profile_accounts_for_the_whole_step_and_every_parameter(tmp_path):
    out = tmp_path / "profile.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--preset", "tiny", "--batch", "4", "--length", "48", "--steps", "1",
         "--threads", "1", "--out", str(out)],
        capture_output=True, text=True, check=False, cwd=SCRIPT.parent,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert sum(result["share_of_time"].values()) == pytest.approx(1.0)
    assert result["share_of_time"]["convolution"] > 0  # the encoders and decoders are convolutional
    assert result["step_seconds"]["median"] > 0
    for key in ("quantizer_seconds", "library_quantizer_seconds"):  # ours, and the library it replaced
        quantizers = result[key]
        assert quantizers["lf"] > 0 and quantizers["hf"] > 0
        assert quantizers["share_of_step"] == pytest.approx(
            (quantizers["lf"] + quantizers["hf"]) / result["step_seconds"]["median"]
        )
    cfg = get_preset("tiny")
    tokenizer = build_tokenizer(48, 1, cfg.frequency, cfg.tokenizer)
    for band, vqvae in tokenizer.bands.items():
        entry = result["parameters"][band]
        assert entry["total"] == sum(entry["parts"].values())
        assert entry["total"] == sum(p.numel() for p in vqvae.parameters())
