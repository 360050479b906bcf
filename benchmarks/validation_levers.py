"""Fit `best` on a dataset's training split with one setting changed and print where validation stopped.

Issue 23, item 7 (levers under the validation-driven stop): only training and held-out data are used, no
test split. Prints JSON: training seconds, each network's stop, and per prior check
``(step, held-out denoising loss, copy share, held-out FID in random-FCN features, copy limit)``::

    python benchmarks/validation_levers.py ECGFiveDays /tmp/out > base.json
    python benchmarks/validation_levers.py ECGFiveDays /tmp/out stage2.ema_decay=0.995 > ema.json
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

import torch

from timevqvdm import TimeVQVDM, get_preset, load_dataset


def main(name: str, out: str, overrides: list[str]) -> None:
    torch.set_num_threads(2)
    train = load_dataset(name, split="train")
    cfg = get_preset("best")
    for override in overrides:
        key, value = override.split("=")
        section, field = key.split(".")
        current = getattr(getattr(cfg, section), field)
        kind = type(current) if current is not None else float
        setattr(cfg, section, dataclasses.replace(getattr(cfg, section), **{field: kind(value)}))
    t0 = time.perf_counter()
    model = TimeVQVDM(config=cfg, progress=False).fit(train, run_dir=f"{out}/runs")
    summary: dict = {"dataset": name, "overrides": overrides, "seconds": time.perf_counter() - t0}
    for stage in ("stage1", "stage2_lf", "stage2_hf"):
        history = model.history[stage]
        summary[stage] = history["stop"]
        if stage != "stage1":
            summary[stage + "_curve"] = [
                (
                    r["step"],
                    round(r["val_loss"], 4),
                    round(r["copy_share"], 3),
                    round(r["val_fid"], 2),
                    r["copy_limit"],
                )
                for r in history["validation"]
            ]
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
