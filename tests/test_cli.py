"""The command line, end to end on real GunPoint with the `tiny` preset (seconds)."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from timevqvdm.cli import app

runner = CliRunner()


def invoke(*args: str):
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "gunpoint"
    previous = os.umask(0o022)  # a common umask, so that the files' modes show whether it was used
    try:
        result = invoke("train", "--dataset", "GunPoint", "--preset", "tiny", "--out", out)
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    return out


def test_train_writes_a_loadable_model_and_logs(model_dir):
    assert (model_dir / "model.json").exists()
    assert (model_dir / "runs" / "stage1" / "metrics.jsonl").exists()
    assert (model_dir / "runs" / "stage2_hf" / "checkpoint.safetensors").exists()


def test_model_files_are_written_with_the_users_umask(model_dir):
    # Not 0600 (what a temporary file gets): others may read a model unless the umask says otherwise.
    written = [p for p in model_dir.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"model.json", "tokenizer.safetensors", "checkpoint.safetensors"}
    assert {p.relative_to(model_dir): p.stat().st_mode & 0o777 for p in written} == {
        p.relative_to(model_dir): 0o644 for p in written
    }


def test_checkpoints_are_also_time_based_by_default(model_dir):
    # The first checkpoint of `quick` came after ~2.5 minutes, so a kill -9 before it lost everything.
    from timevqvdm.config import PRESETS, get_preset

    for name in PRESETS:
        preset = get_preset(name)
        assert all(0 < stage.checkpoint_minutes <= 2 for stage in (preset.stage1, preset.stage2)), name
    stored = json.loads((model_dir / "model.json").read_text())["config"]
    assert stored["stage1"]["checkpoint_minutes"] == stored["stage2"]["checkpoint_minutes"] == 2.0


def test_train_refuses_to_overwrite_without_resume(model_dir):
    result = invoke("train", "--dataset", "GunPoint", "--preset", "tiny", "--out", model_dir)
    assert result.exit_code == 2
    assert "--resume" in result.output


def test_train_resume_of_a_finished_run_is_a_no_op(model_dir):
    result = invoke("train", "--dataset", "GunPoint", "--preset", "tiny", "--out", model_dir, "--resume")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("suffix", [".npz", ".csv", ".parquet"])
def test_sample_writes_labelled_files(model_dir, tmp_path, suffix):
    out = tmp_path / f"s{suffix}"
    result = invoke("sample", model_dir, "-n", 6, "--proportional", "--steps", 2, "--seed", 1, "--out", out)
    assert result.exit_code == 0, result.output
    if suffix == ".npz":
        data = np.load(out)
        assert data["X"].shape == (6, 1, 150) and data["y"].tolist() == [0, 0, 0, 1, 1, 1]
    else:
        frame = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
        assert frame.shape == (6, 151) and frame.columns[0] == "label"


def test_sample_options_are_checked(model_dir, tmp_path):
    assert invoke("sample", model_dir, "-n", 0, "--out", tmp_path / "a.npz").exit_code != 0
    assert invoke("sample", model_dir, "--rescale", 2, "--out", tmp_path / "a.npz").exit_code != 0
    result = invoke("sample", model_dir, "--label", "1", "--proportional", "--out", tmp_path / "a.npz")
    assert result.exit_code == 2 and "not both" in result.output
    result = invoke("sample", model_dir, "--label", "nope", "--steps", 1, "--out", tmp_path / "b.npz")
    assert result.exit_code == 2 and "unknown class" in result.output
    (tmp_path / "c.npz").write_bytes(b"")
    result = invoke("sample", model_dir, "--out", tmp_path / "c.npz")
    assert result.exit_code == 2 and "exists" in result.output


def test_sample_checks_the_output_format_before_sampling(model_dir, tmp_path, monkeypatch):
    from timevqvdm.model import TimeVQVDM

    def must_not_sample(*args, **kwargs):
        raise AssertionError("sampled before the output format was checked")

    monkeypatch.setattr(TimeVQVDM, "sample", must_not_sample)
    result = invoke("sample", model_dir, "-n", 2, "--out", tmp_path / "s.txt")
    assert result.exit_code == 2 and "unsupported output format '.txt'" in result.output
    assert not (tmp_path / "s.txt").exists()


def test_table_formats_take_multivariate_samples(tmp_path):
    import typer

    from timevqvdm.cli import _check_sample_format

    for suffix in (".npz", ".csv", ".parquet"):
        _check_sample_format(tmp_path / f"ok{suffix}")  # any number of channels
    with pytest.raises(typer.Exit):
        _check_sample_format(tmp_path / "s.txt")


def test_same_seed_same_file(model_dir, tmp_path):
    for name in ("a", "b"):
        invoke("sample", model_dir, "-n", 4, "--steps", 2, "--seed", 7, "--out", tmp_path / f"{name}.npz")
    np.testing.assert_array_equal(np.load(tmp_path / "a.npz")["X"], np.load(tmp_path / "b.npz")["X"])


def test_unconditional_mode_option(model_dir, tmp_path):
    # tiny's default is the null class; --unconditional class_prior draws through the classes, unlabelled.
    common = ["-n", 4, "--steps", 2, "--seed", 7]
    for name, extra in (
        ("default", []),
        ("null", ["--unconditional", "null"]),
        ("prior", ["--unconditional", "class_prior"]),
    ):
        assert invoke("sample", model_dir, *common, *extra, "--out", tmp_path / f"{name}.npz").exit_code == 0
    x = {name: np.load(tmp_path / f"{name}.npz") for name in ("default", "null", "prior")}
    np.testing.assert_array_equal(x["default"]["X"], x["null"]["X"])
    assert not np.allclose(x["prior"]["X"], x["null"]["X"])
    assert "y" not in x["prior"].files  # unconditional output stays unlabelled
    result = invoke("sample", model_dir, "--unconditional", "marginal", "--out", tmp_path / "bad.npz")
    assert result.exit_code == 2


def test_evaluate_on_sample_file(model_dir, tmp_path):
    samples = tmp_path / "s.csv"
    invoke("sample", model_dir, "-n", 40, "--proportional", "--steps", 2, "--seed", 0, "--out", samples)
    out = tmp_path / "metrics.json"
    result = invoke("evaluate", model_dir, "--samples", samples, "--fcn-epochs", 2, "--out", out)
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    assert metrics["conditional"]["fid"] >= 0 and metrics["conditional"]["n"] == 40
    assert "fid_train_test" in metrics["reference"]  # the noise floor beside every FID
    again = invoke("evaluate", model_dir, "--samples", samples, "--fcn-epochs", 2, "--out", out)
    assert again.exit_code == 2 and "exists" in again.output
    assert json.loads(out.read_text()) == metrics  # the first result is kept


def test_plot_writes_pngs(model_dir, tmp_path):
    result = invoke("plot", model_dir, "-n", 8, "--out", tmp_path / "plots")
    assert result.exit_code == 0, result.output
    for name in ("real_vs_synthetic.png", "decomposition.png"):
        assert (tmp_path / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = invoke("plot", model_dir, "-n", 8, "--out", tmp_path / "plots")
    assert again.exit_code == 2 and "real_vs_synthetic.png" in again.output


def test_datasets_lists_shipped_data():
    result = invoke("datasets")
    assert result.exit_code == 0 and "GunPoint" in result.output


def test_demo_runs_and_writes_the_png(tmp_path):
    result = invoke("demo", "--preset", "tiny", "-n", 16, "--out", tmp_path / "demo")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "demo" / "real_vs_synthetic.png").read_bytes()[:4] == b"\x89PNG"
    assert "GunPoint (train): 50 series" in result.output


def test_unknown_dataset_is_a_clear_error(tmp_path):
    result = invoke("train", "--dataset", "GunPiont", "--preset", "tiny", "--out", tmp_path / "x")
    assert result.exit_code == 2 and "GunPoint" in result.output


def test_train_rejects_an_unknown_precision(tmp_path):
    result = invoke(
        "train", "--dataset", "GunPoint", "--preset", "tiny", "--precision", "8bit", "--out", tmp_path / "x"
    )
    assert result.exit_code == 2 and "--precision" in result.output


# ----------------------------------------------------------------------------------- issue 27: nothing silent
def _walks_csv(path, n=10, length=150, labels=("a", "b"), seed=0, encoding="utf-8"):
    """Random walks around 975 (nothing like GunPoint) as a wide CSV with a `label` column."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        975 + np.cumsum(rng.normal(size=(n, length)), axis=1), columns=[f"t{i}" for i in range(length)]
    )
    frame.insert(0, "label", [labels[i % len(labels)] for i in range(n)])
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, encoding=encoding)
    return path


@pytest.fixture(scope="module")
def own_model(tmp_path_factory):
    """A model trained on one's own file called GunPoint.csv, and that file and a test file beside it."""
    root = tmp_path_factory.mktemp("own")
    data = _walks_csv(root / "own" / "GunPoint.csv")
    test = _walks_csv(root / "own" / "GunPoint_test.csv", seed=1)
    out = root / "m"
    result = invoke("train", "-d", data, "--label-column", "label", "--preset", "tiny", "--out", out)
    assert result.exit_code == 0, result.output
    return out, data, test


def test_ucr_tsv_file_trains_with_its_first_column_as_labels(tmp_path):
    # Plane_TRAIN.tsv trained "length 145, unlabelled": the class label was read as time step 0.
    rng = np.random.default_rng(0)
    rows = [[label, *np.cumsum(rng.normal(size=40))] for label in ("1", "2") * 4]
    path = tmp_path / "Walks_TRAIN.tsv"
    path.write_text("".join("\t".join(map(str, row)) + "\n" for row in rows))
    result = invoke("train", "-d", path, "--preset", "tiny", "--stages", "1", "-o", tmp_path / "m")
    assert result.exit_code == 0, result.output
    assert "Walks_TRAIN (train): 8 series, 1 channel, length 40, 2 classes [1: 4, 2: 4]" in result.stderr


def test_label_column_is_an_index_when_it_is_an_integer():
    from timevqvdm.cli import _load_options

    assert _load_options("label", None) == {"label_column": "label"}
    assert _load_options("0", "latin-1") == {"label_column": 0, "encoding": "latin-1"}
    assert _load_options("-1", None) == {"label_column": -1}  # the last column, not a header named "-1"
    assert _load_options(None, None) == {}


def test_sample_label_is_a_class_name_and_label_index_a_position(model_dir, tmp_path):
    # GunPoint's classes are named "1" and "2": --label 1 is the class named "1", the first.
    assert (
        invoke("sample", model_dir, "--label", "1", "-n", 3, "--steps", 1, "-o", tmp_path / "a.npz").exit_code
        == 0
    )
    assert np.load(tmp_path / "a.npz")["y"].tolist() == [0, 0, 0]
    assert (
        invoke("sample", model_dir, "--label", "2", "-n", 2, "--steps", 1, "-o", tmp_path / "b.npz").exit_code
        == 0
    )
    assert np.load(tmp_path / "b.npz")["y"].tolist() == [1, 1]
    result = invoke("sample", model_dir, "--label-index", 1, "-n", 2, "--steps", 1, "-o", tmp_path / "c.npz")
    assert result.exit_code == 0 and np.load(tmp_path / "c.npz")["y"].tolist() == [1, 1]


@pytest.mark.parametrize("classes", [["down", "up"], ["a", "b", "c", "d"]], ids=["2-classes", "4-classes"])
def test_resume_with_other_data_is_refused_and_keeps_the_model(model_dir, tmp_path, classes):
    # With as many classes as GunPoint the old weights were kept silently; with another count, a traceback.
    rng = np.random.default_rng(0)
    other = tmp_path / "other.npz"
    np.savez(other, X=675 + 877 * rng.normal(size=(40, 150)), y=np.array(classes * (40 // len(classes))))
    before = {p.name: p.read_bytes() for p in model_dir.iterdir() if p.is_file()}
    result = invoke("train", "-d", other, "--preset", "tiny", "-o", model_dir, "--resume")
    assert result.exit_code == 2
    assert "trained on other data" in result.stderr and f"{classes} now" in result.stderr
    assert "saved model" not in result.output
    assert {p.name: p.read_bytes() for p in model_dir.iterdir() if p.is_file()} == before


def test_resume_says_where_each_stage_resumes(model_dir):
    result = invoke("train", "--dataset", "GunPoint", "--preset", "tiny", "--out", model_dir, "--resume")
    assert result.exit_code == 0, result.output
    for stage in ("stage1", "stage2_lf", "stage2_hf"):
        assert f"{stage}: resuming from step 4" in result.stderr


def test_class_names_with_markup_train_and_print_as_typed(tmp_path):
    data = _walks_csv(tmp_path / "marks.csv", n=8, length=40, labels=("/a", "[badminton]"))
    out = tmp_path / "m"
    result = invoke(
        "train", "-d", data, "--label-column", "label", "--preset", "tiny", "--stages", "1", "--resume",
        "--checkpoint-minutes", 0.5, "-o", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 classes [/a: 4, [badminton]: 4]" in result.stderr
    assert "stage1: nothing to resume" in result.stderr and "starting fresh" in result.stderr
    assert json.loads((out / "model.json").read_text())["config"]["stage1"]["checkpoint_minutes"] == 0.5


def test_plot_uses_the_stored_source_only_while_it_holds_the_training_data(own_model, tmp_path):
    out, data, _ = own_model
    assert invoke("plot", out, "-n", 4, "-o", tmp_path / "p1").exit_code == 0  # the file it was trained on
    moved = tmp_path / "moved.csv"
    data.rename(moved)
    try:
        result = invoke("plot", out, "-n", 4, "-o", tmp_path / "p2")
        assert result.exit_code == 2 and "--dataset" in result.stderr
        assert not (tmp_path / "p2").exists()  # not plotted against aeon's GunPoint
        result = invoke("plot", out, "-n", 4, "-d", moved, "--label-column", "label", "-o", tmp_path / "p3")
        assert result.exit_code == 0, result.output
    finally:
        moved.rename(data)


def test_plot_against_other_data_says_so(model_dir, own_model, tmp_path):
    result = invoke(
        "plot", model_dir, "-n", 4, "-d", own_model[1], "--label-column", "label", "-o", tmp_path / "p"
    )
    assert result.exit_code == 0, result.output
    assert "note: --dataset" in result.stderr and "is not the data" in result.stderr


def test_evaluate_a_model_trained_on_ones_own_file(own_model, tmp_path):
    out, data, test = own_model
    metrics = tmp_path / "m.json"
    result = invoke(
        "evaluate", out, "-d", data, "--test", test, "--label-column", "label", "--fcn-epochs", 2,
        "--out", metrics,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(metrics.read_text())["conditional"]["fid"] >= 0
    result = invoke("evaluate", out, "--fcn-epochs", 2, "--out", tmp_path / "n.json")
    assert result.exit_code == 2 and "--test" in result.stderr


def _one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output, (
        result.stderr
    )
    return lines[0]


def test_a_latin1_csv_needs_its_encoding_which_the_model_keeps(tmp_path):
    accents = ("déjà", "été")
    data = _walks_csv(tmp_path / "latin1.csv", n=8, length=40, labels=accents, encoding="latin-1")
    test = _walks_csv(
        tmp_path / "latin1_test.csv", n=8, length=40, labels=accents, seed=1, encoding="latin-1"
    )
    train = ["train", "-d", data, "--label-column", "label", "--preset", "tiny", "-o", tmp_path / "m"]
    line = _one_error_line(invoke(*train))
    assert "latin1.csv: line 2: byte 0xe9 is not valid UTF-8 text" in line and "encoding" in line
    assert not (tmp_path / "m").exists()

    result = invoke(*train, "--encoding", "latin-1")
    assert result.exit_code == 0, result.output
    assert "2 classes [déjà: 4, été: 4]" in result.stderr
    # plot and evaluate reread the training file with the encoding it was trained with, or with --encoding
    assert invoke("plot", tmp_path / "m", "-n", 4, "-o", tmp_path / "p1").exit_code == 0
    given = ["-d", data, "--label-column", "label", "--encoding", "latin-1"]
    result = invoke("plot", tmp_path / "m", "-n", 4, *given, "-o", tmp_path / "p2")
    assert result.exit_code == 0 and "note:" not in result.stderr, result.output
    samples = tmp_path / "s.csv"  # evaluate these rather than sample 1024 series (a minute)
    result = invoke("sample", tmp_path / "m", "-n", 8, "--proportional", "--steps", 1, "-o", samples)
    assert result.exit_code == 0, result.output
    evaluate = ["evaluate", tmp_path / "m", "--samples", samples, "--fcn-epochs", 2]
    assert invoke(*evaluate, "--test", test, "-o", tmp_path / "e.json").exit_code == 0


def _must_not_run(*args, **kwargs):
    raise AssertionError("started the long work before checking --out")


@pytest.mark.parametrize("command", ["train", "sample", "evaluate", "plot"])
def test_an_unwritable_out_is_refused_before_training_or_sampling(model_dir, tmp_path, monkeypatch, command):
    from timevqvdm.model import TimeVQVDM

    monkeypatch.setattr(TimeVQVDM, "fit", _must_not_run)
    monkeypatch.setattr(TimeVQVDM, "sample", _must_not_run)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    args = {
        "train": ["-d", "GunPoint", "--preset", "tiny", "-o", blocker / "m"],
        "sample": [model_dir, "-n", 2, "-o", blocker / "s.npz"],
        "evaluate": [model_dir, "-o", blocker / "m.json"],
        "plot": [model_dir, "-o", blocker / "plots"],
    }[command]
    assert "a-file is a file, not a folder" in _one_error_line(invoke(command, *args))


def test_datasets_prints_its_headings_to_stdout():
    result = invoke("datasets")
    assert result.exit_code == 0 and "shipped (" in result.stdout and result.stderr == ""


def _edited_copy(model_dir, tmp_path, edit):
    import shutil

    copy = tmp_path / "edited"
    shutil.copytree(model_dir, copy)
    meta = json.loads((copy / "model.json").read_text())
    edit(meta)
    (copy / "model.json").write_text(json.dumps(meta))
    return copy


def _bad_invocations(model_dir, own, tmp_path):
    """(arguments, text the one error line must hold) for every subcommand."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("label,t0\nd\xe9j\xe0,1.0\n".encode("latin-1"))
    broken = _edited_copy(model_dir, tmp_path / "b", lambda meta: None)
    (broken / "prior_hf.safetensors").write_bytes(b"not safetensors")
    stage1_only = _edited_copy(model_dir, tmp_path / "s1", lambda meta: meta.update(stages=[1]))
    eps_to_v = _edited_copy(
        model_dir, tmp_path / "v", lambda meta: meta["config"]["prior"].update(prediction="v")
    )
    elsewhere = _edited_copy(own[0], tmp_path / "o", lambda meta: meta["data"].update(source=str(latin1)))
    short = _walks_csv(tmp_path / "short.csv", n=4, length=40)
    plot_with = ["plot", model_dir, "--label-column", "label", "-o", tmp_path / "p"]
    out = tmp_path / "out"
    train = ["train", "-d", "GunPoint", "--preset", "tiny"]
    return [
        ([*train, "--stages", "3", "-o", out], "--stages must be 1, 2 or 1,2"),
        ([*train[:3], "--preset", "huge", "-o", out], "unknown preset 'huge'"),
        ([*train, "--precision", "8bit", "-o", out], "--precision"),
        (["train", "-d", "GunPiont", "-o", out], "GunPoint"),
        ([*train, "-o", blocker / "m"], "is a file, not a folder"),
        ([*train, "--stages", "2", "-o", out], "needs the stage-1 model"),
        ([*train, "-o", model_dir], "--resume"),
        (["train", "-d", latin1, "-o", out], "latin1.csv: line 2: byte 0xe9 is not valid UTF-8 text"),
        (["train", "-d", "GunPoint", "--devices", 0, "-o", out], "--devices"),
        (["sample", tmp_path / "missing", "-o", tmp_path / "s.npz"], "no such model folder"),
        (["sample", model_dir, "-o", blocker / "s.npz"], "is a file, not a folder"),
        (["sample", model_dir, "-o", tmp_path / "s.txt"], "unsupported output format"),
        (["sample", model_dir, "--label", "3", "-o", tmp_path / "s.npz"], "unknown class '3'"),
        (["sample", model_dir, "--label", "1", "--label-index", 0, "-o", tmp_path / "s.npz"], "not both"),
        (["sample", model_dir, "-n", 0, "-o", tmp_path / "s.npz"], "-n"),
        (["sample", broken, "-o", tmp_path / "s.npz"], "prior_hf.safetensors"),
        (["sample", stage1_only, "-o", tmp_path / "s.npz"], "holds only stage 1"),
        (["sample", eps_to_v, "-o", tmp_path / "s.npz"], "prior.prediction: 'eps' saved, 'v' now"),
        (["evaluate", model_dir, "-o", blocker / "m.json"], "is a file, not a folder"),
        (["evaluate", model_dir, "-d", tmp_path / "nope.csv", "-o", tmp_path / "m.json"], "nope.csv"),
        (
            ["evaluate", elsewhere, "-o", tmp_path / "m.json"],
            "pass the data it was trained on with --dataset",
        ),
        (["plot", model_dir, "-o", blocker], "is a file, not a folder"),
        (["plot", elsewhere, "-o", tmp_path / "p"], "pass the data it was trained on with --dataset"),
        (["plot", tmp_path / "missing", "-o", tmp_path / "p"], "no such model folder"),
        (["datasets", "--nope"], "--nope"),
        (["demo", "-o", blocker], "is a file, not a folder"),
        (["demo", "--preset", "huge", "-o", out], "unknown preset"),
        (["benchmark", "--runs", 0, "-o", out], "--runs"),
        (["no-such-command"], "no-such-command"),
        ([*plot_with, "-d", short], "of length 40"),
        (
            ["evaluate", model_dir, "-d", short, "--label-column", "label", "--encoding", "klingon"],
            "unknown encoding 'klingon'",
        ),
        (["benchmark", "--datasets", "GunPoint,NoSuchDataset", "-o", out], "'NoSuchDataset' is neither"),
        (["benchmark", "--datasets", "GunPoint", "-o", blocker], "is a file, not a folder"),
    ]


BAD_CASES = 33


@pytest.mark.parametrize("case", range(BAD_CASES))
def test_every_user_error_is_one_line_and_exit_code_2(model_dir, own_model, tmp_path, case):
    cases = _bad_invocations(model_dir, own_model, tmp_path)
    assert len(cases) == BAD_CASES
    args, expected = cases[case]
    result = invoke(*args)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert expected in lines[0] and "Traceback" not in result.output


def test_verbose_shows_the_traceback_of_a_user_error(tmp_path):
    result = runner.invoke(
        app, ["--verbose", "sample", str(tmp_path / "missing"), "-o", str(tmp_path / "s.npz")]
    )
    assert result.exit_code == 1 and "no such model folder" in str(result.exception)


@pytest.fixture
def recorded_compiles(monkeypatch) -> list[str]:
    """torch.compile replaced by a stand-in that records what it is given and returns it unchanged."""
    import torch

    from timevqvdm import compiled

    names: list[str] = []
    monkeypatch.setattr(torch, "compile", lambda fn, **kwargs: names.append(fn.__qualname__) or fn)
    monkeypatch.setattr(compiled, "compiler_available", lambda: True)
    return names


def test_sample_compile_runs_the_unets_compiled_with_the_same_samples(model_dir, tmp_path, recorded_compiles):
    common = ("-n", 4, "--steps", 2, "--seed", 7)
    assert invoke("sample", model_dir, *common, "--out", tmp_path / "eager.npz").exit_code == 0
    assert recorded_compiles == []
    assert invoke("sample", model_dir, *common, "--compile", "--out", tmp_path / "comp.npz").exit_code == 0
    assert recorded_compiles == ["UNet1D.forward"] * 2  # the LF and the HF prior
    np.testing.assert_array_equal(np.load(tmp_path / "eager.npz")["X"], np.load(tmp_path / "comp.npz")["X"])


def test_train_compile_runs_the_stage_1_networks_compiled(tmp_path, recorded_compiles):
    out = tmp_path / "m"
    result = invoke(
        "train", "--dataset", "GunPoint", "--preset", "tiny", "--stages", "1", "--compile", "-o", out
    )
    assert result.exit_code == 0, result.output
    assert sorted(recorded_compiles) == [
        "Decoder.forward",
        "Decoder.forward",
        "Encoder.forward",
        "Encoder.forward",
    ]
    saved = json.loads((out / "model.json").read_text())["config"]
    assert saved["stage1"]["compile"] is True and saved["sampling"]["compile"] is False
