"""On a CPU, is one job on every core faster than one single-threaded job per core, side by side?

The dev benchmark trains several independent models (one per dataset). This measures the stage-1
training step of the `paper` architecture (batch 128, series of length 140 like ECG5000) three ways, each
in fresh subprocesses started at the same moment:

* ``one_job_all_threads``: one process using all `--threads` threads;
* ``one_job_one_thread``: one process with one thread, alone (the single-thread speed);
* ``parallel_one_thread``: `--threads` processes with one thread each, at once.

Throughput is steps per second summed over the processes; the JSON gives the ratio of the parallel layout
to the single-process one, measured in the same run. Stop other heavy work first: it would compete.

    python benchmarks/parallel_jobs.py --threads 2     # writes benchmarks/results/parallel-jobs-cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from common import environment

ROOT = Path(__file__).resolve().parent


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--length", type=int, default=140)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "parallel-jobs-cpu.json")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)  # internal: threads
    return parser.parse_args(argv)


def worker(threads: int, length: int, repeats: int) -> None:
    """Print one JSON line: the median stage-1 step time of the paper architecture."""
    torch.set_num_threads(threads)
    from speed import paper_model, stage1_step

    model = paper_model(length, "cpu")
    print(json.dumps({"threads": threads, "step_s": stage1_step(model, 128, "cpu", repeats)}), flush=True)


def run_together(n_processes: int, threads: int, args: argparse.Namespace) -> list[float]:
    """Start `n_processes` workers at once; return each one's median step time."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    command = [sys.executable, __file__, "--worker", str(threads), "--length", str(args.length)]
    command += ["--repeats", str(args.repeats)]
    procs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) for _ in range(n_processes)
    ]
    times = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"worker failed with exit code {proc.returncode}")
        times.append(json.loads(out.strip().splitlines()[-1])["step_s"])
    return times


def layout(step_times: list[float]) -> dict:
    return {"processes": len(step_times), "step_s": step_times, "steps_per_s": sum(1 / t for t in step_times)}


def main() -> None:
    args = parse_args()
    if args.worker is not None:
        worker(args.worker, args.length, args.repeats)
        return
    torch.set_num_threads(args.threads)  # recorded by environment()
    layouts = {
        "one_job_all_threads": layout(run_together(1, args.threads, args)),
        "one_job_one_thread": layout(run_together(1, 1, args)),
        "parallel_one_thread": layout(run_together(args.threads, 1, args)),
    }
    result = {
        "what": "stage-1 training step, paper architecture, batch 128; median over repeats per process",
        "length": args.length,
        "repeats": args.repeats,
        "layouts": layouts,
        "throughput_ratio_parallel_vs_one_job": layouts["parallel_one_thread"]["steps_per_s"]
        / layouts["one_job_all_threads"]["steps_per_s"],
        "environment": environment("cpu"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
