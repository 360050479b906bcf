"""Quality levers of sampling, measured on a development dataset's trained model (issue: benchmarks).

Sweeps one sampling setting at a time around the thesis's unconditional setting (1024 series, ancestral,
128 steps, t_max 0.99, gamma 0.1) and scores every run with the evaluation protocol (our FCN, FID against the
test reference, read against the noise floor):

* ``steps``: ancestral vs DDIM at 8, 16, 32, 64 and 128 steps — the quality-versus-steps curve that decides
  the default sampler and step count;
* ``t_max``: the thesis's Table 3 sweep, at 32 steps as there (1.0 is only defined for a v-predicting
  prior and is recorded as such for an eps prior);
* ``rescale``: gamma of Eq. (31), at the `best` preset's 16 ancestral steps (the steps curve showed 16 steps
  scoring as 128 do, at an eighth of the cost);
* ``unconditional``: how ``labels=None`` is sampled — the thesis's null class, or the class prior
  (classes in training proportions, each sampled conditionally at w = 1), at 16 steps;
* ``core``: ancestral and DDIM at 16 steps from t_max 0.99 and 1, to compare models retrained with a
  training lever (``train_variant.py``);
* ``guidance``: w of Eq. (29) for class-conditional samples in training proportions (thesis 3.6), also at
  16 steps; their FID is the class-conditional FID against the whole test split.

Settings are chosen by ``fid_train_mean``, the FID against the *training* split, never by the test-split
FID (the project's rule: tune without looking at test-split scores). The training-split FID rewards
copying, so it is read beside the copy share; the test-split FID and its ratio to the noise floor are
recorded as the outcome a choice led to, not as the score that made it.

Each (sweep, setting) entry holds both FIDs of every seed with their mean and std, the wall time of each
sampling call, the FID / noise-floor ratio and the first seed's memorisation. Entries already in the JSON with the same seeds are skipped and the
file is rewritten after each, so the script resumes::

    python benchmarks/levers.py --dataset GunPoint --sweeps steps t_max --seeds 2 --threads 1

Wall times are those of this run: when another job shares the CPU they are inflated; speed is measured
on a quiet machine by benchmarks/sampling.py and benchmarks/speed.py.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from common import environment, unconditional_fid
from timevqvdm import TimeVQVDM
from timevqvdm.data import load_dataset
from timevqvdm.evaluation import evaluate
from timevqvdm.training.checkpoint import save_json

ROOT = Path(__file__).resolve().parent
N_SERIES = 1024
BASE = {"sampler": "ancestral", "steps": 128, "t_max": 0.99, "rescale": 0.1}
SWEEPS = {
    "steps": [
        {"sampler": sampler, "steps": steps}
        for steps in (8, 16, 32, 64, 128)
        for sampler in ("ancestral", "ddim")
    ],
    # Thesis Table 3 swept t_max at 32 steps (on Wafer).
    "t_max": [{"steps": 32, "t_max": t} for t in (1.0, 0.999, 0.99, 0.98, 0.95)],
    "rescale": [{"steps": 16, "rescale": g} for g in (0.0, 0.1, 0.3, 0.5)],
    "guidance": [{"steps": 16, "labels": "proportional", "guidance": w} for w in (1.0, 2.0, 3.0, 5.0)],
    "unconditional": [{"steps": 16, "unconditional": mode} for mode in ("null", "class_prior")],
    # For models retrained with a training lever (train_variant.py): both samplers at 16 steps, from
    # t_max 0.99 and from 1 (the latter only for a v-predicting prior).
    "core": [
        {"sampler": sampler, "steps": 16, "t_max": t}
        for t in (0.99, 1.0)
        for sampler in ("ancestral", "ddim")
    ],
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="GunPoint")
    parser.add_argument("--model", type=Path, default=None, help="default: benchmarks/work/paper/models/NAME")
    parser.add_argument("--sweeps", nargs="+", default=["steps"], choices=sorted(SWEEPS))
    parser.add_argument("--seeds", type=int, default=2, help="sampling seeds per setting")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--fcn-epochs", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=None, help="default: results/levers-NAME.json")
    return parser.parse_args()


def entry_name(sweep: str, setting: dict) -> str:
    return f"{sweep}/" + ",".join(f"{k}={v}" for k, v in setting.items())


def run_setting(model, train, test, settings: dict, seeds: int, fcn_epochs: int) -> dict:
    """FID (and memorisation of the first seed) of samples drawn with `settings` (unconditional unless it
    names ``labels``)."""
    if settings["t_max"] == 1.0 and model.prior_lf.prediction == "eps":
        return {"settings": settings, "skipped": "t_max = 1 needs a v-predicting prior (eps model)"}
    fids, train_fids, seconds, floor, copies = [], [], [], None, None
    for seed in range(seeds):
        t0 = time.perf_counter()
        kwargs = {k: v for k, v in settings.items() if k != "labels"}
        samples = model.sample(N_SERIES, settings.get("labels"), seed=1000 + seed, **kwargs)
        seconds.append(time.perf_counter() - t0)
        metrics = evaluate(samples, train, test=test, fcn_epochs=fcn_epochs, seed=0, tstr=False)
        fids.append(unconditional_fid(metrics))
        train_fids.append(unconditional_fid(metrics, key="fid_train"))
        floor = metrics["reference"]["fid_train_test"]
        copies = copies or metrics["memorisation"]
    mean = float(np.mean(fids))
    return {
        "settings": settings,
        "seeds": seeds,
        "fid_train_runs": train_fids,
        "fid_train_mean": float(np.mean(train_fids)),
        "fid_train_std": float(np.std(train_fids)),
        "fid_runs": fids,
        "fid_mean": mean,
        "fid_std": float(np.std(fids)),
        "noise_floor": floor,
        "fid_over_floor": mean / floor,
        "sample_seconds_runs": seconds,
        "memorisation_first_seed": copies,
    }


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model_dir = args.model or ROOT / "work" / "paper" / "models" / args.dataset
    out = args.out or ROOT / "results" / f"levers-{args.dataset}.json"
    model = TimeVQVDM.load(model_dir)
    model.progress = False
    train, test = load_dataset(args.dataset), load_dataset(args.dataset, split="test")
    result = json.loads(out.read_text()) if out.exists() else {}
    result.update(
        {"dataset": args.dataset, "n_series": N_SERIES, "base": BASE, "environment": environment("cpu")}
    )
    entries = result.setdefault("entries", {})
    for sweep in args.sweeps:
        for setting in SWEEPS[sweep]:
            name = entry_name(sweep, setting)
            done = entries.get(name, {})
            if "skipped" in done or (done.get("seeds") == args.seeds and "fid_train_runs" in done):
                continue
            print(f"{name} ...", flush=True)
            entries[name] = run_setting(model, train, test, {**BASE, **setting}, args.seeds, args.fcn_epochs)
            entry = entries[name]
            print(f"{name}: fid_train {entry.get('fid_train_mean', entry.get('skipped'))}", flush=True)
            save_json(out, result)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
