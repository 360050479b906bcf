"""Training wall time of validation-driven `best` against the `paper` budget, from committed records.

Two ratios per dataset, both from records taken on the same kind of machine:

* ``ratio_budget``: `best`'s training seconds (both stages, validation checks included) over the `paper`
  budget priced at the same run's own median step times: each network's paper step budget (epochs x batches
  per epoch of the whole training split) times its median step time in the `best` run. `best` steps on a
  fifth fewer series, so this prices `paper` at most at what it costs: the ratio errs high, never low.
* ``ratio_record``: over the `paper` record's own training seconds, where that record trained from scratch
  on the same device type (its ``environment.device``); None otherwise.

::

    python benchmarks/training_time.py --best benchmarks/results/dev-best --paper benchmarks/results/dev-paper
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

from timevqvdm import get_preset

# Network name in a record's timing -> its TrainConfig section; `best` trains the priors in lockstep
# ("stage2": a step of both), a model trained without validation or lockstep one after the other.
NETWORKS = {"stage1": "stage1", "stage2_lf": "stage2", "stage2_hf": "stage2"}
LOCKSTEP_NETWORKS = {"stage1": "stage1", "stage2": "stage2"}


def paper_budget_steps(n_train: int, networks: dict[str, str] = NETWORKS) -> dict[str, int]:
    """Steps of each network under the `paper` preset for a training split of ``n_train`` series."""
    config = get_preset("paper")
    steps = {}
    for name, stage in networks.items():
        train = getattr(config, stage)
        steps[name] = train.max_steps or train.epochs * max(1, math.ceil(n_train / train.batch_size))
    return steps


def compare(best: dict, paper: dict | None) -> dict:
    """One dataset's row: seconds, steps, and the two ratios (see the module docstring)."""
    timing, device = best["timing"], best["environment"]["device"]
    stages = timing.get("stages", {})
    networks = LOCKSTEP_NETWORKS if "stage2" in stages else NETWORKS
    budget = paper_budget_steps(best["data"]["n_train"], networks)
    # A lockstep step is a step of both priors, so the paper's budget of each prior prices as one.
    priced = sum(budget[name] * stages[name]["median_step_time"] for name in networks)
    seconds = timing.get("train_seconds")
    row = {
        "dataset": best["dataset"],
        "device": device,
        "best_train_seconds": seconds,
        "best_resumed": timing.get("train_resumed"),
        "best_steps": {name: stages[name]["steps"] for name in networks},
        "paper_budget_steps": budget,
        "paper_budget_seconds_at_best_step_times": priced,
        "ratio_budget": seconds / priced if seconds else None,
        "paper_record_seconds": None,
        "ratio_record": None,
    }
    if paper is not None:
        same_machine = paper["environment"]["device"] == device
        from_scratch = not paper["timing"].get("train_resumed") and paper["timing"].get("train_seconds")
        if same_machine and from_scratch:
            row["paper_record_seconds"] = paper["timing"]["train_seconds"]
            row["ratio_record"] = seconds / row["paper_record_seconds"] if seconds else None
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--best", type=Path, required=True, help="benchmark folder of the best preset")
    parser.add_argument("--paper", type=Path, required=True, help="benchmark folder of the paper preset")
    parser.add_argument("--out", type=Path, default=None, help="default: BEST/training_time.json")
    args = parser.parse_args()
    rows = []
    for file in sorted((args.best / "results").glob("*.json")):
        best = json.loads(file.read_text())
        if best.get("status") != "ok" or best.get("timing", {}).get("train_resumed") is None:
            continue  # a model loaded from elsewhere: its training was not timed here
        paper_file = args.paper / "results" / file.name
        rows.append(compare(best, json.loads(paper_file.read_text()) if paper_file.is_file() else None))
    ratios = [r["ratio_budget"] for r in rows if r["ratio_budget"] is not None and not r["best_resumed"]]
    summary = {
        "rows": rows,
        "n_datasets": len(ratios),
        "median_ratio_budget": statistics.median(ratios) if ratios else None,
        "devices": sorted({r["device"] for r in rows}),
    }
    out = args.out or args.best / "training_time.json"
    out.write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "rows"}))


if __name__ == "__main__":
    main()
