"""Sampling and training-step times of two versions of the code in one run: a speed change's before and after.

Each version (a git revision, checked out into a temporary worktree) loads the same saved model in a
process of its own that imports that version's package and benchmark helpers, and times one draw of `--n`
series at the model's default settings (after an untimed warm-up draw) and each prior's training step at
batch 128 (`common.stage2_steps`, median of 5 after a warm-up). The processes alternate, before / after,
round after round, so both meet the same machine load. Without --model the model is the default preset's
architecture fitted for one step on GunPoint (as benchmarks/compile_speed.py does: timing does not depend on
the weights). Writes ``benchmarks/results/speed-ab-<device>.json``: each side's times and medians, the ratios
before / after, and the largest difference between the two versions' samples of one seed (zero when the
change leaves the sampled values alone).

With ``--stage1`` each side instead builds the preset's tokenizer from its own code (no saved model, so it
works across a change of the tokenizer's architecture or weight names) and times a stage-1 training step on
random series of `--length` at batch `--batch` (median of 7 after a warm-up); it writes
``speed-ab-stage1-<device>.json``.

    python benchmarks/speed_ab.py --before 5b227ed              # the default preset, one step on GunPoint
    python benchmarks/speed_ab.py --before 103d9a7 --stage1     # stage-1 step, length 150, batch 128
    python benchmarks/speed_ab.py --before HEAD~1 --after HEAD --rounds 1 --n 8 --out /tmp/ab.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from common import environment
from compile_speed import one_step_model
from timevqvdm.config import DEFAULT_PRESET
from timevqvdm.training.checkpoint import save_json

ROOT = Path(__file__).resolve().parent
REPO = ROOT.parent

# Run by each side's process with that version's package and benchmarks first on the path.
MEASURE = """
import json, sys, time
from pathlib import Path
import numpy as np, torch
torch.set_num_threads(int(sys.argv[2]))
import timevqvdm
from common import median_time, stage2_steps
from timevqvdm import TimeVQVDM
model = TimeVQVDM.load(sys.argv[1], device=sys.argv[3], progress=False)
n = int(sys.argv[4])
model.sample(n, None, seed=0)
t0 = time.perf_counter()
X = model.sample(n, None, seed=0).X
sampling = time.perf_counter() - t0
np.save(sys.argv[5], X)
steps = {band: median_time(step, 5) for band, (_, step) in stage2_steps(model, 128, sys.argv[3]).items()}
package = str(Path(timevqvdm.__file__).parent)
print(json.dumps({"sampling_s": sampling, "stage2_step_s": steps, "package": package}))
"""

# The same for a stage-1 step: argv threads, device, preset, length, batch.
MEASURE_STAGE1 = """
import json, sys
from pathlib import Path
import torch
torch.set_num_threads(int(sys.argv[1]))
import timevqvdm
from common import median_time, synchronize
from timevqvdm.config import get_preset
from timevqvdm.tokenizer import build_tokenizer
device, preset, length, batch = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
cfg = get_preset(preset)
torch.manual_seed(0)
tokenizer = build_tokenizer(length, 1, cfg.frequency, cfg.tokenizer).to(device).train()
parts = tokenizer.split(torch.randn(batch, 1, length, device=device))
optimizer = torch.optim.AdamW(tokenizer.parameters(), lr=0.0)
def step():
    optimizer.zero_grad(set_to_none=True)
    loss, _ = tokenizer.training_loss(parts)
    loss.backward()
    optimizer.step()
    synchronize(device)
seconds = median_time(step, 7)
parameters = tokenizer.n_parameters()
package = str(Path(timevqvdm.__file__).parent)
print(json.dumps({"stage1_step_s": seconds, "parameters": parameters, "package": package}))
"""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="git revision of the baseline")
    parser.add_argument("--after", default=None, help="git revision to compare (default: the working tree)")
    parser.add_argument("--model", type=Path, default=None, help="a saved model (default: see --preset)")
    parser.add_argument(
        "--preset", default=DEFAULT_PRESET, help="without --model: this preset fitted one step on GunPoint"
    )
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--stage1", action="store_true", help="time a stage-1 training step instead")
    parser.add_argument("--length", type=int, default=150, help="with --stage1: series length")
    parser.add_argument("--batch", type=int, default=128, help="with --stage1: batch size")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args(argv)


def checkout(revision: str, into: Path) -> Path:
    """A detached worktree of `revision` under `into`; its package sources are ``<tree>/src``."""
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(into), revision], check=True
    )
    return into


def commit_of(revision: str | None) -> str:
    """The commit a revision names; None (the working tree) is HEAD's, marked when the tree has changes."""
    git = ["git", "-C", str(REPO)]
    commit = subprocess.run(
        [*git, "rev-parse", revision or "HEAD"], capture_output=True, text=True, check=True
    )
    dirty = revision is None and subprocess.run([*git, "diff", "--quiet", "HEAD"], check=False).returncode
    return commit.stdout.strip() + (" with uncommitted changes" if dirty else "")


def measure(tree: Path, args: argparse.Namespace, sample_file: Path) -> dict:
    """One side's times, in a fresh process importing the package and benchmark helpers of `tree`."""
    if args.stage1:
        command = [sys.executable, "-c", MEASURE_STAGE1, str(args.threads), args.device, args.preset]
        command += [str(args.length), str(args.batch)]
    else:
        command = [
            sys.executable,
            "-c",
            MEASURE,
            str(args.model),
            str(args.threads),
            args.device,
            str(args.n),
        ]
        command.append(str(sample_file))
    source = tree / "src"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(source), str(tree / "benchmarks")])}
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"the measurement of {tree} failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if Path(result["package"]) != source / "timevqvdm":  # an installed copy shadowing the checkout
        raise RuntimeError(f"the measurement imported {result['package']}, not the version in {source}")
    return result


def alternate(args: argparse.Namespace, tmp: Path) -> dict[str, list[dict]]:
    """Each side's measurements, before and after in turn for `args.rounds` rounds."""
    trees = {"before": checkout(args.before, tmp / "before")}
    trees["after"] = checkout(args.after, tmp / "after") if args.after else REPO
    try:
        runs: dict[str, list[dict]] = {"before": [], "after": []}
        for _ in range(args.rounds):
            for side, tree in trees.items():
                runs[side].append(measure(tree, args, tmp / f"{side}.npy"))
        return runs
    finally:
        for tree in trees.values():
            if tree != REPO:
                subprocess.run(
                    ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False
                )


def compare(args: argparse.Namespace, runs: dict[str, list[dict]], picks: dict[str, Callable]) -> dict:
    """Times per side, their medians and the speed-ups before / after, for each of `picks`."""
    times = {what: {side: [pick(run) for run in runs[side]] for side in runs} for what, pick in picks.items()}
    medians = {what: {side: statistics.median(t[side]) for side in t} for what, t in times.items()}
    return {
        "environment": environment(args.device),
        "revisions": {"before": commit_of(args.before), "after": commit_of(args.after)},
        "runs_s": times,
        "median_s": medians,
        "speedup": {what: m["before"] / m["after"] for what, m in medians.items()},
    }


def stage1_main(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        runs = alternate(args, Path(tmp))
    results = {
        "preset": args.preset,
        "length": args.length,
        "batch": args.batch,
        **compare(args, runs, {"stage1_step": lambda run: run["stage1_step_s"]}),
        "parameters": {side: runs[side][0]["parameters"] for side in runs},
    }
    out = args.out or ROOT / "results" / f"speed-ab-stage1-{args.device.split(':')[0]}.json"
    save_json(out, results)
    print(f"wrote {out}: stage-1 step speed-up (before / after) {results['speedup']['stage1_step']:.2f}x")
    return results


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.stage1:
        return stage1_main(args)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.model is None:  # timing does not depend on the weights
            described = f"{args.preset}, one step per network on GunPoint"
            args.model = tmp / "model"
            one_step_model(args.preset, "GunPoint", args.device).save(args.model)
        else:
            described = str(args.model)
        if not args.model.is_dir():
            raise SystemExit(f"no saved model at {args.model}")
        runs = alternate(args, tmp)
        difference = np.abs(np.load(tmp / "before.npy") - np.load(tmp / "after.npy"))
    picks = {
        "sampling": lambda run: run["sampling_s"],
        "stage2_step_lf": lambda run: run["stage2_step_s"]["lf"],
        "stage2_step_hf": lambda run: run["stage2_step_s"]["hf"],
    }
    results = {
        "model": described,
        "n": args.n,
        "training_batch": 128,
        **compare(args, runs, picks),
        "max_abs_difference_of_samples": float(difference.max()),
    }
    out = args.out or ROOT / "results" / f"speed-ab-{args.device.split(':')[0]}.json"
    save_json(out, results)
    print(
        f"wrote {out}: speed-up (before / after) "
        + ", ".join(f"{k} {v:.2f}x" for k, v in results["speedup"].items())
    )
    return results


if __name__ == "__main__":
    main()
