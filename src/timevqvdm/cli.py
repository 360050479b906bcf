"""Command line: thin, typed commands over the Python API, one subcommand per job.

timevqvdm datasets
timevqvdm train --dataset GunPoint --preset quick --out runs/gunpoint
timevqvdm sample runs/gunpoint -n 256 --proportional --out samples.npz
timevqvdm evaluate runs/gunpoint --out metrics.json
timevqvdm plot runs/gunpoint --out plots/
timevqvdm demo
"""

from __future__ import annotations

import json
import logging
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="TimeVQVDM: synthetic time series generation."
)
console = Console(stderr=True)


class Sampler(str, Enum):
    ancestral = "ancestral"
    ddim = "ddim"


class Unconditional(str, Enum):
    null = "null"
    class_prior = "class_prior"


class Precision(str, Enum):
    fp32 = "32"
    bf16 = "bf16"


DatasetOpt = Annotated[
    str,
    typer.Option(
        "--dataset", "-d", help="UCR/UEA name (e.g. GunPoint), a UCR folder, or a CSV/NPY/NPZ/Parquet file."
    ),
]
ModelDir = Annotated[Path, typer.Argument(help="Model folder written by `timevqvdm train`.")]


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


def _fail(message: str) -> None:
    # soft_wrap: long paths stay on one line, whole, so they can be copied from the terminal.
    console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code=2)


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress messages.")] = False,
) -> None:
    _setup_logging(verbose)


@app.command()
def datasets(
    ucr_root: Annotated[
        Path | None, typer.Option(help="Local UCRArchive_2018 folder (default: $TIMEVQVDM_UCR_ROOT).")
    ] = None,
) -> None:
    """List the datasets that can be loaded now: shipped with aeon, cached, and in the local UCR root."""
    from timevqvdm.data import list_datasets

    found = list_datasets(ucr_root=ucr_root)
    for group, names in found.items():
        console.print(f"[bold]{group}[/] ({len(names)})")
        typer.echo("  " + (", ".join(names) if names else "(none)"))


@app.command()
def train(
    dataset: DatasetOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the trained model and its run logs.")],
    preset: Annotated[
        str,
        typer.Option(
            help="Preset: best (thesis model, measured-best settings), paper (the thesis exactly), "
            "quick (minutes on a CPU)."
        ),
    ] = "best",
    stages: Annotated[str, typer.Option(help="Stages to train: 1, 2 or 1,2.")] = "1,2",
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue interrupted training from OUT's checkpoints.")
    ] = False,
    seed: Annotated[int, typer.Option(min=0)] = 0,
    stage1_epochs: Annotated[
        int | None, typer.Option(min=1, help="Override the preset's stage-1 epochs.")
    ] = None,
    stage2_epochs: Annotated[
        int | None, typer.Option(min=1, help="Override the preset's stage-2 epochs.")
    ] = None,
    devices: Annotated[
        int, typer.Option(min=1, help="Devices (GPUs, or CPU processes); >1 trains with DDP.")
    ] = 1,
    precision: Annotated[str, typer.Option(help="Training precision: 32-true or bf16-mixed.")] = "32-true",
) -> None:
    """Train TimeVQVDM (stage 1 tokenizer, then the stage 2 diffusion priors) and save it to OUT."""
    from timevqvdm.config import get_preset
    from timevqvdm.data import DataError, load_dataset
    from timevqvdm.model import TimeVQVDM

    try:
        stage_tuple = tuple(int(s) for s in stages.split(","))
        config = get_preset(preset)
    except ValueError as err:
        _fail(str(err))
    config.seed = seed
    if stage1_epochs:
        config.stage1.epochs = stage1_epochs
    if stage2_epochs:
        config.stage2.epochs = stage2_epochs
    if precision not in ("32-true", "bf16-mixed", "16-mixed"):
        _fail(f"--precision must be 32-true, bf16-mixed or 16-mixed, got {precision!r}")
    for stage in (config.stage1, config.stage2):
        stage.devices, stage.precision = devices, precision
        stage.strategy = "ddp" if devices > 1 else stage.strategy
    try:
        data = load_dataset(dataset, split="train")
    except DataError as err:
        _fail(str(err))
    console.print(data.summary())
    if stage_tuple == (2,):
        model = TimeVQVDM.load(out)
        model.config.stage2 = config.stage2
    else:
        if (out / "model.json").exists() and not resume:
            _fail(f"{out} already holds a model; pass --resume to continue it or choose another --out")
        model = TimeVQVDM(config=config)
    model.fit(data, stages=stage_tuple, run_dir=out / "runs", resume=resume)
    model.save(out, overwrite=True)
    console.print(f"saved model to [bold]{out}[/]")


@app.command()
def sample(
    model_dir: ModelDir,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output file: .npz, .csv or .parquet (labels included).")
    ],
    n: Annotated[int, typer.Option("-n", min=1, help="Number of series.")] = 256,
    label: Annotated[str | None, typer.Option(help="Generate this class (name or index).")] = None,
    proportional: Annotated[
        bool, typer.Option("--proportional", help="Classes in training proportions.")
    ] = False,
    steps: Annotated[
        int | None,
        typer.Option(min=1, help="Denoising steps (default: the model's preset; best 16, paper 128)."),
    ] = None,
    guidance: Annotated[
        float | None, typer.Option(min=0.0, help="Classifier-free guidance weight w.")
    ] = None,
    rescale: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Rescale factor γ (Eq. 31).")
    ] = None,
    t_max: Annotated[
        float | None, typer.Option(min=0.01, max=1.0, help="Start time of the reverse process.")
    ] = None,
    sampler: Annotated[Sampler | None, typer.Option(help="ancestral (Algorithm 3) or ddim.")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Fix the samples (same device).")] = None,
    precision: Annotated[Precision, typer.Option(help="U-Net precision.")] = Precision.fp32,
    batch_size: Annotated[int | None, typer.Option(min=1)] = None,
    unconditional: Annotated[
        Unconditional | None,
        typer.Option(
            help="Without --label/--proportional: the null class (thesis) or the class prior "
            "(default: the model's preset)."
        ),
    ] = None,
) -> None:
    """Sample new series from a trained model and write them with their labels."""
    from timevqvdm.model import TimeVQVDM

    if label is not None and proportional:
        _fail("use either --label or --proportional, not both")
    _refuse_existing(out)
    model = TimeVQVDM.load(model_dir)
    # Before sampling, which may take minutes: a format that cannot hold the result fails now.
    _check_sample_format(out, model.data_info.n_channels)
    labels = "proportional" if proportional else _parse_label(label)
    try:
        result = model.sample(
            n, labels, steps=steps, guidance=guidance, rescale=rescale, t_max=t_max,
            sampler=sampler.value if sampler else None, seed=seed, precision=precision.value, batch_size=batch_size,
            unconditional=unconditional.value if unconditional else None,
        )  # fmt: skip
    except ValueError as err:
        _fail(str(err))
    write_samples(result, out)
    console.print(f"wrote {n} series to [bold]{out}[/]")


def _refuse_existing(*paths: Path) -> None:
    """Fail, naming them, if any output path exists: nothing is overwritten."""
    existing = [str(path) for path in paths if path.exists()]
    if existing:
        verb = "exists" if len(existing) == 1 else "exist"
        _fail(f"{', '.join(existing)} already {verb}; choose another --out (nothing is overwritten)")


def _parse_label(label: str | None):
    if label is None:
        return None
    return int(label) if label.isdigit() else label


def _check_sample_format(out: Path, n_channels: int) -> None:
    """Fail unless `out`'s suffix can hold `n_channels`-channel samples (.npz any, .csv/.parquet one)."""
    suffix = out.suffix.lower()
    if suffix not in (".npz", ".csv", ".parquet"):
        _fail(f"unsupported output format {out.suffix!r} in {out}: use .npz, .csv or .parquet")
    if suffix != ".npz" and n_channels != 1:
        _fail(f"{out}: CSV/Parquet output holds univariate series; use .npz for {n_channels}-channel samples")


def write_samples(dataset, out: Path) -> None:
    """Write samples as .npz (X, y, classes), or wide .csv/.parquet (label column first when labelled)."""
    import numpy as np
    import pandas as pd

    _check_sample_format(out, dataset.n_channels)
    out.parent.mkdir(parents=True, exist_ok=True)
    X, y, classes = dataset.X, dataset.y, list(dataset.classes)
    suffix = out.suffix.lower()
    if suffix == ".npz":
        arrays = {"X": X, "classes": np.array(classes, dtype=str)}
        if y is not None:
            arrays["y"] = y
        np.savez(out, **arrays)
        return
    frame = pd.DataFrame(X[:, 0, :], columns=[f"t{i}" for i in range(X.shape[2])])
    if y is not None:
        frame.insert(0, "label", [classes[i] for i in y])
    if suffix == ".csv":
        frame.to_csv(out, index=False)
    else:
        frame.to_parquet(out, index=False)


@app.command()
def evaluate(
    model_dir: ModelDir,
    out: Annotated[Path, typer.Option("--out", "-o", help="Metrics JSON file.")] = Path("metrics.json"),
    samples: Annotated[
        Path | None, typer.Option(help="Evaluate these samples (.npz/.csv/.parquet) instead of sampling.")
    ] = None,
    dataset: Annotated[
        str | None, typer.Option("--dataset", "-d", help="Reference data (default: the model's).")
    ] = None,
    runs: Annotated[int, typer.Option(min=1, help="Sampling runs to average (mean and std).")] = 1,
    fcn_epochs: Annotated[int, typer.Option(min=1, help="FCN training epochs (thesis: 1000).")] = 1000,
    seed: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """FID, IS, CAS (TSTR/TRTR), noise floor, memorisation and distribution metrics, written as JSON."""
    from timevqvdm.data import load_dataset
    from timevqvdm.evaluation import evaluate as run_evaluation
    from timevqvdm.model import TimeVQVDM

    _refuse_existing(out)  # before hours of sampling and FCN training, not after
    model = TimeVQVDM.load(model_dir)
    name = dataset or model.data_info.name
    train_set, test_set = load_dataset(name, split="train"), load_dataset(name, split="test")
    subject = (
        model
        if samples is None
        else load_dataset(str(samples), split="train", label_column=_label_column(samples))
    )
    metrics = run_evaluation(subject, train_set, test=test_set, runs=runs, seed=seed, fcn_epochs=fcn_epochs)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(metrics, indent=2) + "\n")
    console.print(f"wrote metrics to [bold]{out}[/]")


def _label_column(path: Path):
    return "label" if path.suffix.lower() in (".csv", ".parquet") else None


@app.command()
def plot(
    model_dir: ModelDir,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the PNG files.")] = Path("plots"),
    n: Annotated[int, typer.Option("-n", min=1, help="Series per panel.")] = 256,
    seed: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Real vs synthetic run charts and the LF/HF decomposition, as PNG files."""
    from timevqvdm.data import load_dataset
    from timevqvdm.evaluation import plot_decomposition, plot_real_vs_synthetic
    from timevqvdm.model import TimeVQVDM

    series_png, bands_png = out / "real_vs_synthetic.png", out / "decomposition.png"
    _refuse_existing(series_png, bands_png)
    model = TimeVQVDM.load(model_dir)
    real = load_dataset(model.data_info.name, split="train")
    synthetic = model.sample(n, None, seed=seed, return_bands=True)
    out.mkdir(parents=True, exist_ok=True)
    real_x = real.to_original_units(real.X)
    plot_real_vs_synthetic(real_x, synthetic.X, series_png, n=n)
    real_lf, real_hf = model.split_bands(real_x)  # the data's own parts
    plot_decomposition(real_lf, real_hf, synthetic.X_lf, synthetic.X_hf, bands_png)
    for path in (series_png, bands_png):
        typer.echo(str(path))


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo's model and PNG.")] = Path(
        "runs/demo"
    ),
    dataset: Annotated[
        str, typer.Option(help="Dataset (default: GunPoint, shipped with aeon).")
    ] = "GunPoint",
    preset: Annotated[str, typer.Option(help="Preset (default: quick).")] = "quick",
    n: Annotated[int, typer.Option("-n", min=1)] = 256,
) -> None:
    """Train the quick preset on GunPoint, sample 256 series and plot real beside synthetic."""
    from timevqvdm.data import load_dataset
    from timevqvdm.evaluation import plot_real_vs_synthetic
    from timevqvdm.model import TimeVQVDM

    data = load_dataset(dataset, split="train")
    console.print(data.summary())
    model_dir = out / "model"
    if (model_dir / "model.json").exists():
        console.print(f"reusing the model in {model_dir}")
        model = TimeVQVDM.load(model_dir)
    else:
        model = TimeVQVDM(preset=preset).fit(data, run_dir=out / "runs", resume=True)
        model.save(model_dir, overwrite=True)
    synthetic = model.sample(n, "proportional" if data.y is not None else None, seed=0)
    samples_path = out / "samples.npz"
    samples_path.unlink(missing_ok=True)
    write_samples(synthetic, samples_path)
    png = plot_real_vs_synthetic(
        data.to_original_units(data.X), synthetic.X, out / "real_vs_synthetic.png", n=n
    )
    typer.echo(f"model:   {model_dir}")
    typer.echo(f"samples: {samples_path}")
    typer.echo(f"plot:    {png}")


@app.command()
def benchmark(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Benchmark folder (models, results, tables, figures).")
    ],
    datasets: Annotated[
        str, typer.Option(help="dev (the 10 development datasets), all (the 128 published) or NAME,NAME.")
    ] = "dev",
    preset: Annotated[str, typer.Option(help="Model preset: paper (thesis settings), quick, ...")] = "paper",
    runs: Annotated[int, typer.Option(min=1, help="Sampling + evaluation runs per dataset (thesis: 3).")] = 3,
    workers: Annotated[
        int, typer.Option(min=1, help="Datasets in parallel processes (one GPU each when several).")
    ] = 1,
    seed: Annotated[int, typer.Option(min=0)] = 0,
    fcn_epochs: Annotated[int, typer.Option(min=1, help="FCN training epochs (thesis: 1000).")] = 1000,
    ucr_root: Annotated[
        Path | None, typer.Option(help="Local UCRArchive_2018 folder (default: $TIMEVQVDM_UCR_ROOT).")
    ] = None,
    n_samples: Annotated[
        int | None, typer.Option(min=2, hidden=True, help="Smoke runs only: series per run (thesis: 1024).")
    ] = None,
    steps: Annotated[
        int | None, typer.Option(min=1, hidden=True, help="Smoke runs only: sampler steps, both modes.")
    ] = None,
    models_from: Annotated[
        Path | None,
        typer.Option(
            help="Reuse the models of another benchmark folder trained with the same training settings "
            "(e.g. --preset best on the paper models) instead of training."
        ),
    ] = None,
) -> None:
    """Train once per dataset, sample and evaluate RUNS times (paper: the thesis's settings; other presets:
    their own sampling defaults), and tabulate FID / IS / TSTR beside the noise floor and the published
    figures (resumable)."""
    from tqdm.auto import tqdm

    from timevqvdm.benchmark import resolve_datasets, run_benchmark

    try:
        names = resolve_datasets(datasets)
    except ValueError as err:
        _fail(str(err))
    # tqdm, not rich: the trainer's own tqdm bars nest under this one while a dataset trains.
    bar = tqdm(total=len(names), desc="datasets", unit="dataset", dynamic_ncols=True)

    def on_result(name: str, record: dict, skipped: bool) -> None:
        ratio = (record.get("ratios") or {}).get("unconditional")
        state = "skipped (done)" if skipped else record.get("status")
        detail = f", FID/floor {ratio:.2f}" if ratio is not None and not skipped else ""
        bar.write(f"{name}: {state}{detail}")
        bar.update(1)

    try:
        result = run_benchmark(
            names, preset=preset, runs=runs, out_dir=out, workers=workers, seed=seed,
            fcn_epochs=fcn_epochs, n_samples=n_samples, steps=steps, ucr_root=ucr_root,
            progress=workers == 1, on_result=on_result, models_from=models_from,
        )  # fmt: skip
    except ValueError as err:
        _fail(str(err))
    finally:
        bar.close()
    failed = [r["dataset"] for r in result.records if r.get("status") != "ok"]
    if failed:
        console.print(f"[bold red]failed:[/] {', '.join(failed)} (see {out / 'results'})")
    typer.echo(str(result.markdown))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
