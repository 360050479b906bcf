"""Command line: thin, typed commands over the Python API, one subcommand per job.

timevqvdm datasets
timevqvdm train --dataset GunPoint --preset quick --out runs/gunpoint
timevqvdm sample runs/gunpoint -n 256 --proportional --out samples.npz
timevqvdm evaluate runs/gunpoint --out metrics.json
timevqvdm plot runs/gunpoint --out plots/
timevqvdm demo

A user error (a bad option, file, dataset or model folder) is one line on stderr and exit code 2; `--verbose`
shows the traceback behind it.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import tempfile
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

try:  # typer vendors click from 0.26 on
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException, NoArgsIsHelpError

if TYPE_CHECKING:
    from timevqvdm.config import ValidationConfig

console = Console(stderr=True)
# Whether `--verbose` was given: user errors then show their traceback.
_options = {"verbose": False}


class _OneLineErrors(TyperGroup):
    """Usage errors (unknown option, value out of range) as one line, like every other user error."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError as err:
            typer.echo(err.format_message())
            sys.exit(err.exit_code)
        except ClickException as err:
            ctx = getattr(err, "ctx", None)
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            _print_error(f"{_one_line(err.format_message())}{hint}")
            sys.exit(err.exit_code)
        except typer.Abort:
            _print_error("aborted")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=_OneLineErrors,
    add_completion=False,
    no_args_is_help=True,
    help="TimeVQVDM: synthetic time series generation.",
)


class Sampler(str, Enum):
    ancestral = "ancestral"
    ddim = "ddim"


class Unconditional(str, Enum):
    null = "null"
    class_prior = "class_prior"


class Precision(str, Enum):
    fp32 = "32"
    bf16 = "bf16"


class Executor(str, Enum):
    local = "local"
    ray = "ray"


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


def _print_error(message: str) -> None:
    # soft_wrap: long paths stay on one line, whole, so they can be copied from the terminal. The message
    # holds user-supplied text (paths, class names): escaped, so "[...]" prints as typed.
    console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)


def _fail(message: str) -> None:
    _print_error(message)
    raise typer.Exit(code=2)


def _one_line(message: str) -> str:
    return " ".join(line.strip() for line in str(message).splitlines() if line.strip())


def _user_errors(command: Callable) -> Callable:
    """Run `command`; a user error it meets (a bad value, file, dataset or checkpoint: ValueError and its
    DataError/CheckpointError, OSError) ends it with one line and exit code 2 (a traceback with --verbose)."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (ValueError, OSError) as err:
            if _options["verbose"]:
                raise
            _fail(_one_line(str(err)) or type(err).__name__)

    return run


def _say(message: str) -> None:
    """A progress message on stderr; `message` is plain text (user strings are not read as markup)."""
    console.print(escape(message), soft_wrap=True)


@app.callback()
def _main(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log progress messages; tracebacks for errors.")
    ] = False,
) -> None:
    _options["verbose"] = verbose
    _setup_logging(verbose)


LabelColumnOpt = Annotated[
    str | None,
    typer.Option(
        help="CSV/TSV/Parquet: the column holding the class labels, by header name or 0-based index "
        "(an integer is an index; -1 is the last column)."
    ),
]
EncodingOpt = Annotated[str | None, typer.Option(help="Text encoding of CSV/TSV files (e.g. latin-1).")]
CompileOpt = Annotated[
    bool | None,
    typer.Option(
        "--compile/--no-compile",
        help="Run the networks through torch.compile (eager, with a warning, where it is unavailable; "
        "default: the preset's, off).",
    ),
]


def _load_options(label_column: str | None, encoding: str | None) -> dict[str, Any]:
    """`load_dataset` keyword arguments for the options given (none for those left out)."""
    options: dict[str, Any] = {}
    if label_column is not None:
        # "-1" too is an index (the last column), as load_dataset reads it; str.isdigit() misses the sign.
        is_index = label_column.lstrip("-").isdigit()
        options["label_column"] = int(label_column) if is_index else label_column
    if encoding is not None:
        options["encoding"] = encoding
    return options


def _check_writable(path: Path, *, folder: bool = False) -> None:
    """Fail now, before any long work, unless the file (or with `folder`, the folder) `path` can be written."""
    if folder and path.exists() and not path.is_dir():
        _fail(f"{path} is a file, not a folder; choose another --out")
    base = path if folder else path.parent
    ancestor = next(p for p in (base, *base.parents) if p.exists())
    if not ancestor.is_dir():
        _fail(f"cannot write {path}: {ancestor} is a file, not a folder; choose another --out")
    try:
        with tempfile.TemporaryFile(dir=ancestor):
            pass
    except OSError as err:
        _fail(f"cannot write {path}: {ancestor}: {err.strerror or err}; choose another --out")


@app.command()
@_user_errors
def datasets(
    ucr_root: Annotated[
        Path | None, typer.Option(help="Local UCRArchive_2018 folder (default: $TIMEVQVDM_UCR_ROOT).")
    ] = None,
) -> None:
    """List the datasets that can be loaded now: shipped with aeon, cached, and in the local UCR root."""
    from timevqvdm.data import list_datasets

    found = list_datasets(ucr_root=ucr_root)
    for group, names in found.items():
        typer.echo(f"{group} ({len(names)})")
        typer.echo("  " + (", ".join(names) if names else "(none)"))


@app.command()
@_user_errors
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
    checkpoint_minutes: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="Also save a checkpoint after this many minutes since the last one (default: the preset's, "
            "2; 0: only every checkpoint_every steps).",
        ),
    ] = None,
    label_column: LabelColumnOpt = None,
    encoding: EncodingOpt = None,
    compile: CompileOpt = None,
) -> None:
    """Train TimeVQVDM (stage 1 tokenizer, then the stage 2 diffusion priors) and save it to OUT."""
    from timevqvdm.config import get_preset
    from timevqvdm.data import load_dataset
    from timevqvdm.model import TimeVQVDM

    stage_tuple = _parse_stages(stages)
    config = get_preset(preset)
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
        if checkpoint_minutes is not None:
            stage.checkpoint_minutes = checkpoint_minutes or None
        if compile is not None:
            stage.compile = compile
    _check_writable(out, folder=True)
    if (out / "model.json").exists() and not resume and stage_tuple != (2,):
        _fail(f"{out} already holds a model; pass --resume to continue it or choose another --out")
    if stage_tuple == (2,) and not (out / "model.json").exists():
        _fail(f"--stages 2 needs the stage-1 model in {out}: train it first with --stages 1 (or 1,2)")
    options = _load_options(label_column, encoding)
    data = load_dataset(dataset, split="train", **options)
    _say(data.summary())
    if stage_tuple == (2,):
        model = TimeVQVDM.load(out)
        model.config.stage2 = config.stage2
    else:
        model = TimeVQVDM(config=config)
    if resume:
        _check_resume_matches(out, data)
        _say_where_training_resumes(out / "runs", stage_tuple, model.config.validation)
    model.fit(data, stages=stage_tuple, run_dir=out / "runs", resume=resume)
    model.data_info.source, model.data_info.load_options = _source_of(dataset), options
    model.save(out, overwrite=True)
    console.print(f"saved model to [bold]{escape(str(out))}[/]", soft_wrap=True)


def _parse_stages(stages: str) -> tuple[int, ...]:
    parsed = {"1": (1,), "2": (2,), "1,2": (1, 2)}.get(stages.replace(" ", ""))
    if parsed is None:
        _fail(f"--stages must be 1, 2 or 1,2, got {stages!r}")
    return parsed


def _source_of(dataset: str) -> str:
    """How to find `--dataset` again from another folder: an absolute path for a file or folder."""
    path = Path(dataset).expanduser()
    return str(path.resolve()) if path.exists() else dataset


def _check_resume_matches(out: Path, data) -> None:
    """Refuse to resume a saved model with other data (its checkpoints also refuse other settings)."""
    from timevqvdm.model import MODEL_JSON, DataInfo, TimeVQVDM
    from timevqvdm.training.checkpoint import describe_differences

    if not (out / MODEL_JSON).exists():
        return
    saved = TimeVQVDM.load(out, device="cpu", progress=False).data_info
    given = DataInfo.of(data)
    if saved.fingerprint is not None and saved.fingerprint != given.fingerprint:
        differences = describe_differences(saved.description(), given.description())
        _fail(
            f"{out} holds a model trained on other data than {data.name} ({differences}); resume it with the "
            "data it was trained on, or train into another --out"
        )


def _say_where_training_resumes(runs: Path, stages: tuple[int, ...], validation: ValidationConfig) -> None:
    """One line per stage: the step its checkpoint resumes from, or that it starts fresh."""
    from timevqvdm.fitting import network_names
    from timevqvdm.training.checkpoint import read_metadata
    from timevqvdm.training.trainer import CHECKPOINT_NAME

    names = network_names(validation, stages)
    for name in names:
        checkpoint = runs / name / CHECKPOINT_NAME
        if checkpoint.exists():
            meta = read_metadata(checkpoint)
            step = meta.get("step", "?")
            _say(f"{name}: resuming from step {step} ({checkpoint})")
        else:
            _say(f"{name}: nothing to resume in {checkpoint.parent}, starting fresh")


@app.command()
@_user_errors
def sample(
    model_dir: ModelDir,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Output file: .npz, .csv or .parquet (labels included; several channels or variable lengths: "
            "see docs/data.md for the layout).",
        ),
    ],
    n: Annotated[int, typer.Option("-n", min=1, help="Number of series.")] = 256,
    label: Annotated[
        str | None, typer.Option(help="Generate this class, by name (as `train` showed it, e.g. 1 or up).")
    ] = None,
    label_index: Annotated[
        int | None,
        typer.Option(min=0, help="Generate this class, by 0-based position in the model's class list."),
    ] = None,
    proportional: Annotated[
        bool, typer.Option("--proportional", help="Classes in training proportions.")
    ] = False,
    steps: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Denoising steps (default: the model's preset; best 16, paper 128 or 32 with a label).",
        ),
    ] = None,
    guidance: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="Classifier-free guidance weight w (default: the model's preset; paper 3 with a label, else 1).",
        ),
    ] = None,
    rescale: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Rescale factor γ (Eq. 31).")
    ] = None,
    t_max: Annotated[
        float | None, typer.Option(min=0.01, max=1.0, help="Start time of the reverse process.")
    ] = None,
    sampler: Annotated[Sampler | None, typer.Option(help="ancestral (Algorithm 3) or ddim.")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Fix the samples (same device).")] = None,
    precision: Annotated[
        Precision | None, typer.Option(help="U-Net precision (default: the model's preset, 32).")
    ] = None,
    batch_size: Annotated[int | None, typer.Option(min=1)] = None,
    unconditional: Annotated[
        Unconditional | None,
        typer.Option(
            help="Without --label/--proportional: the null class (thesis) or the class prior "
            "(default: the model's preset)."
        ),
    ] = None,
    compile: CompileOpt = None,
) -> None:
    """Sample new series from a trained model and write them with their labels."""
    given = {
        "--label": label is not None,
        "--label-index": label_index is not None,
        "--proportional": proportional,
    }
    chosen = [option for option, present in given.items() if present]
    if len(chosen) > 1:
        _fail(f"use one of {' and '.join(chosen)}, not both")
    _refuse_existing(out)
    _check_writable(out)
    model = _load_model(model_dir, stage2=True)
    # Before sampling, which may take minutes: a format that cannot hold the result fails now.
    _check_sample_format(out)
    labels = "proportional" if proportional else (label if label is not None else label_index)
    overrides = {
        "steps": steps, "guidance": guidance, "rescale": rescale, "t_max": t_max, "batch_size": batch_size,
        "sampler": sampler.value if sampler else None, "precision": precision.value if precision else None,
        "unconditional": unconditional.value if unconditional else None, "compile": compile,
    }  # fmt: skip
    # An option left out keeps the model's own setting.
    result = model.sample(n, labels, seed=seed, **{k: v for k, v in overrides.items() if v is not None})
    write_samples(result, out)
    console.print(f"wrote {n} series to [bold]{escape(str(out))}[/]", soft_wrap=True)


def _load_model(model_dir: Path, *, stage2: bool = False):
    """The model in `model_dir`; with `stage2`, fail unless it has its stage-2 priors."""
    from timevqvdm.model import TimeVQVDM

    model = TimeVQVDM.load(model_dir)
    if stage2 and model.prior_lf is None:
        _fail(
            f"{model_dir} holds only stage 1; train stage 2 first: timevqvdm train ... --out {model_dir} --stages 2"
        )
    return model


def _refuse_existing(*paths: Path) -> None:
    """Fail, naming them, if any output path exists: nothing is overwritten."""
    existing = [str(path) for path in paths if path.exists()]
    if existing:
        verb = "exists" if len(existing) == 1 else "exist"
        _fail(f"{', '.join(existing)} already {verb}; choose another --out (nothing is overwritten)")


def _check_sample_format(out: Path) -> None:
    """Fail unless `out`'s suffix is one `write_samples` writes (.npz, .csv, .parquet; each holds any number
    of channels: several go to CSV/Parquet in the long layout)."""
    from timevqvdm.data.write import WRITE_SUFFIXES

    if out.suffix.lower() not in WRITE_SUFFIXES:
        _fail(f"unsupported output format {out.suffix!r} in {out}: use .npz, .csv or .parquet")


def write_samples(dataset, out: Path) -> None:
    """Write samples as `timevqvdm.data.write.write_dataset` does: .npz (X, y, classes; NaN tails), .csv
    (wide for one channel, NaN tails; long for several) or .parquet (wide for one channel at full length,
    else long: fewer rows for a shorter series)."""
    from timevqvdm.data.write import write_dataset

    _check_sample_format(out)
    write_dataset(dataset, out)


@app.command()
@_user_errors
def evaluate(
    model_dir: ModelDir,
    out: Annotated[Path, typer.Option("--out", "-o", help="Metrics JSON file.")] = Path("metrics.json"),
    samples: Annotated[
        Path | None, typer.Option(help="Evaluate these samples (.npz/.csv/.parquet) instead of sampling.")
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset",
            "-d",
            help="The real training data (default: where the model was trained from, if it is unchanged).",
        ),
    ] = None,
    test: Annotated[
        str | None,
        typer.Option(
            help="The real test data, a file (default: the test split of --dataset's name or folder)."
        ),
    ] = None,
    runs: Annotated[int, typer.Option(min=1, help="Sampling runs to average (mean and std).")] = 1,
    fcn_epochs: Annotated[int, typer.Option(min=1, help="FCN training epochs (thesis: 1000).")] = 1000,
    seed: Annotated[int, typer.Option(min=0)] = 0,
    label_column: LabelColumnOpt = None,
    encoding: EncodingOpt = None,
) -> None:
    """FID, IS, CAS (TSTR/TRTR), noise floor, memorisation and distribution metrics, written as JSON."""
    from timevqvdm.data import load_dataset
    from timevqvdm.evaluation import evaluate as run_evaluation

    _refuse_existing(out)  # before hours of sampling and FCN training, not after
    _check_writable(out)
    model = _load_model(model_dir, stage2=samples is None)
    options = _load_options(label_column, encoding)
    train_set, source, used = _real_training_data(model, model_dir, dataset, options, "--dataset and --test")
    test_set = _real_test_data(train_set, source, test, options or used)
    subject = (
        model
        if samples is None
        else load_dataset(str(samples), split="train", label_column=_label_column(samples))
    )
    metrics = run_evaluation(subject, train_set, test=test_set, runs=runs, seed=seed, fcn_epochs=fcn_epochs)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(metrics, indent=2) + "\n")
    console.print(f"wrote metrics to [bold]{escape(str(out))}[/]", soft_wrap=True)


def _label_column(path: Path):
    return "label" if path.suffix.lower() in (".csv", ".parquet") else None


def _real_training_data(model, model_dir: Path, dataset: str | None, options: dict[str, Any], needs: str):
    """The real training data to compare the model with, where it came from and the options it loaded with.

    Without `dataset`, the source stored with the model is used only when it still holds the exact data
    the model was trained on (same fingerprint); a same-named UCR dataset or an edited file is not it.
    """
    from timevqvdm.data import load_dataset
    from timevqvdm.model import DataInfo
    from timevqvdm.training.checkpoint import describe_differences

    info = model.data_info
    if dataset is not None:
        real = load_dataset(dataset, split="train", **options)
        if (real.n_channels, real.length) != (info.n_channels, info.length):
            _fail(
                f"--dataset {dataset} has {real.n_channels} channel(s) of length {real.length}; the model makes "
                f"{info.n_channels} of length {info.length}"
            )
        if info.fingerprint is not None and DataInfo.of(real).fingerprint != info.fingerprint:
            differences = describe_differences(info.description(), DataInfo.of(real).description())
            _say(f"note: --dataset {dataset} is not the data {model_dir} was trained on ({differences})")
        return real, dataset, options
    source = info.source or info.name
    ask = f"pass the data it was trained on with {needs}"
    if info.fingerprint is None:
        _fail(f"{model_dir} was saved without a fingerprint of its training data ({info.name}); {ask}")
    try:
        real = load_dataset(source, split="train", **(info.load_options or {}))
    except (ValueError, OSError) as err:  # DataError, or what a file changed beyond reading raises
        _fail(f"{model_dir} was trained on {info.name} from {source}, which does not load now ({err}); {ask}")
    if DataInfo.of(real).fingerprint != info.fingerprint:
        _fail(f"{model_dir} was trained on {info.name}, and {source} no longer holds that data; {ask}")
    return real, source, info.load_options or {}


def _real_test_data(train_set, source: str, test: str | None, options: dict[str, Any]):
    """The real test split: `test` (a file, normalised and encoded like `train_set`), else `source`'s."""
    from timevqvdm.data import load_dataset

    if test is not None:
        classes = train_set.classes if train_set.y is not None else None
        return load_dataset(test, split="train", stats=train_set.stats, classes=classes, **options)
    if Path(source).is_file():
        _fail(f"{source} is a single file without a test split; pass the real test data with --test")
    return load_dataset(source, split="test", **options)


@app.command()
@_user_errors
def plot(
    model_dir: ModelDir,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the PNG files.")] = Path("plots"),
    n: Annotated[int, typer.Option("-n", min=1, help="Series per panel.")] = 256,
    seed: Annotated[int, typer.Option(min=0)] = 0,
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset",
            "-d",
            help="The real data to plot beside the samples (default: where the model was trained from, if "
            "it is unchanged).",
        ),
    ] = None,
    label_column: LabelColumnOpt = None,
    encoding: EncodingOpt = None,
) -> None:
    """Real vs synthetic run charts, the LF/HF decomposition and, for a model trained with validation
    checks, its validation curves (held-out losses and copy share against step), as PNG files."""
    from timevqvdm.evaluation import plot_decomposition, plot_real_vs_synthetic, plot_validation_curves

    series_png, bands_png = out / "real_vs_synthetic.png", out / "decomposition.png"
    curves_png = out / "validation_curves.png"
    _refuse_existing(series_png, bands_png, curves_png)
    _check_writable(out, folder=True)
    model = _load_model(model_dir, stage2=True)
    real, _, _ = _real_training_data(
        model, model_dir, dataset, _load_options(label_column, encoding), needs="--dataset"
    )
    synthetic = model.sample(n, None, seed=seed, return_bands=True)
    out.mkdir(parents=True, exist_ok=True)
    real_x = real.to_original_units(real.X)
    plot_real_vs_synthetic(real_x, synthetic.samples.X, series_png, n=n)
    real_lf, real_hf = model.split_bands(real_x)  # the data's own parts
    plot_decomposition(real_lf, real_hf, synthetic.lf, synthetic.hf, bands_png)
    written = [series_png, bands_png]
    if model.config.validation.enabled:
        threshold = model.config.validation.copy_threshold
        written.append(plot_validation_curves(model.history, curves_png, copy_threshold=threshold))
    for path in written:
        typer.echo(str(path))


@app.command()
@_user_errors
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
    from timevqvdm.config import get_preset
    from timevqvdm.data import load_dataset
    from timevqvdm.evaluation import plot_real_vs_synthetic
    from timevqvdm.model import TimeVQVDM

    _check_writable(out, folder=True)
    get_preset(preset)  # an unknown preset fails before the data loads
    data = load_dataset(dataset, split="train")
    _say(data.summary())
    model_dir = out / "model"
    if (model_dir / "model.json").exists():
        _say(f"reusing the model in {model_dir}")
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
@_user_errors
def benchmark(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Benchmark folder (models, results, tables, figures).")
    ],
    datasets: Annotated[
        str,
        typer.Option(
            help="dev (the 10 development datasets), multivariate (Sines, BasicMotions, JapaneseVowels, "
            "PickupGestureWiimoteZ, AllGestureWiimoteX, GesturePebbleZ1), all (the 128 published) or "
            "NAME,NAME."
        ),
    ] = "dev",
    preset: Annotated[str, typer.Option(help="Model preset: paper (thesis settings), quick, ...")] = "paper",
    runs: Annotated[int, typer.Option(min=1, help="Sampling + evaluation runs per dataset (thesis: 3).")] = 3,
    executor: Annotated[
        Executor,
        typer.Option(
            help="Where the datasets run: local (this machine) or ray (a Ray cluster, pip install "
            "'timevqvdm[cluster]')."
        ),
    ] = Executor.local,
    address: Annotated[
        str | None,
        typer.Option(help="--executor ray: the Ray cluster's address (default: start a local Ray instance)."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Datasets at a time: local processes (one GPU each when several), or the CPUs of the "
            "local Ray instance. Default 1: one after another in this process.",
        ),
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
    field_repeats: Annotated[
        int | None,
        typer.Option(
            "--field-metrics",
            min=1,
            help="Also score the field's discriminative, predictive, correlational and context-FID scores "
            "(TimeGAN, Diffusion-TS) N times each (the papers: 5) on the first unconditional run, against "
            "the training split; published Sines figures beside them. Default: off.",
        ),
    ] = None,
) -> None:
    """Train once per dataset, sample and evaluate RUNS times (paper: the thesis's settings; other presets:
    their own sampling defaults), and tabulate FID / IS / TSTR beside the noise floor and the published
    figures (resumable). Each dataset is one task: by default they run one after another in this process."""
    from tqdm.auto import tqdm

    from timevqvdm.benchmark import BenchmarkSpec, make_executor, resolve_datasets, run_benchmark

    # A typo in --datasets, an unknown preset or a missing Ray stop here, before the bar and any training.
    spec = BenchmarkSpec(
        resolve_datasets(datasets), preset=preset, runs=runs, seed=seed, fcn_epochs=fcn_epochs,
        n_samples=n_samples, steps=steps, ucr_root=ucr_root, models_from=models_from,
        field_repeats=field_repeats,
    )  # fmt: skip
    try:
        runner = make_executor(executor.value, workers=workers, address=address)
    except ImportError as err:
        _fail(str(err))
    _check_writable(out, folder=True)
    # tqdm, not rich: the trainer's own tqdm bars nest under this one while a dataset trains.
    bar = tqdm(total=len(spec.datasets), desc="datasets", unit="dataset", dynamic_ncols=True)

    def on_result(name: str, record: dict, skipped: bool) -> None:
        ratio = (record.get("ratios") or {}).get("unconditional")
        state = "skipped (done)" if skipped else record.get("status")
        detail = f", FID/floor {ratio:.2f}" if ratio is not None and not skipped else ""
        bar.write(f"{name}: {state}{detail}")
        bar.update(1)

    try:
        result = run_benchmark(
            spec, out, executor=runner, progress=executor is Executor.local and workers == 1,
            on_result=on_result,
        )  # fmt: skip
    except ValueError as err:
        _fail(str(err))
    finally:
        bar.close()
    failed = [r["dataset"] for r in result.records if r.get("status") != "ok"]
    if failed:
        console.print(
            f"[bold red]failed:[/] {escape(', '.join(failed))} (see {escape(str(out / 'results'))})"
        )
    typer.echo(str(result.markdown))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
