"""The benchmark harness end to end with the `tiny` preset, 2-epoch FCNs and 32 series per run (seconds).

One module-scoped run covers GunPoint (published figures), TinyItaly (a small UCR folder made from
ItalyPowerDemand, no published row, interrupted after stage 1) and BrokenItaly (a UCR folder without its
test split, which fails once its run loads it). The Ray executor runs two tiny datasets on a local Ray
instance; the tables are checked against the committed development benchmarks. A second run scores the
field's multivariate metrics on a cut-down Sines with shrunk networks.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from timevqvdm import TimeVQVDM, benchmark, config
from timevqvdm.cli import app
from timevqvdm.data import load_dataset
from timevqvdm.evaluation import FieldConfig, TS2VecConfig, minmax_scale, protocol

SMOKE = {
    "preset": "tiny", "runs": 2, "seed": 0, "fcn_epochs": 2, "n_samples": 32, "steps": 2, "field_repeats": None,
}  # fmt: skip
DATASETS = ["GunPoint", "TinyItaly", "BrokenItaly"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
COMMITTED = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def _spec(datasets, **changes):
    return benchmark.BenchmarkSpec(datasets, **{**SMOKE, **changes})


def _write_tiny_italy(root, name="TinyItaly", splits=("train", "test")):
    """A UCR-format folder with 20 training and 40 test series of ItalyPowerDemand (length 24)."""
    folder = root / name
    folder.mkdir(parents=True)
    for split in splits:
        n = {"train": 20, "test": 40}[split]
        data = load_dataset("ItalyPowerDemand", split=split)
        x = data.to_original_units(data.X[:n, 0])
        labels = np.array(data.classes)[data.y[:n]]
        frame = pd.DataFrame(x)
        frame.insert(0, "label", labels)
        frame.to_csv(folder / f"{name}_{split.upper()}.tsv", sep="\t", header=False, index=False)


def _interrupt_after_stage1(out, ucr_root):
    """Leave what a run killed after stage 1 leaves: a stage-1 checkpoint, no model.json, no record."""
    train = load_dataset("TinyItaly", ucr_root=ucr_root)
    run_dir = benchmark.model_dir(out, "TinyItaly") / "runs"
    TimeVQVDM(preset="tiny", progress=False).fit(train, stages=(1,), run_dir=run_dir)
    return run_dir / "stage1"


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    base = tmp_path_factory.mktemp("bench")
    ucr_root, out = base / "ucr", base / "out"
    _write_tiny_italy(ucr_root)
    _write_tiny_italy(ucr_root, "BrokenItaly", splits=("train",))  # known by name, fails while it runs
    stage1 = _interrupt_after_stage1(out, ucr_root)
    before = {
        "ckpt_mtime": (stage1 / "checkpoint.safetensors").stat().st_mtime_ns,
        "log_lines": (stage1 / "metrics.jsonl").read_text().count("\n"),
    }
    seen = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(protocol, "MIN_TSTR_SAMPLES", 64)  # TSTR on 64 series instead of 1000
        result = benchmark.run_benchmark(
            _spec(DATASETS, ucr_root=ucr_root, cache_dir=base / "fcn"), out,
            on_result=lambda name, record, skipped: seen.append((name, skipped)),
        )  # fmt: skip
    return {
        "out": out,
        "ucr_root": ucr_root,
        "result": result,
        "before": before,
        "stage1": stage1,
        "seen": seen,
    }


def _record(bench, name):
    return json.loads(benchmark.result_path(bench["out"], name).read_text())


# ------------------------------------------------------------------------------------------- datasets
def test_resolve_datasets():
    dev = benchmark.resolve_datasets("dev")
    assert len(dev) == 10 and dev[:3] == ["GunPoint", "ArrowHead", "ItalyPowerDemand"]
    assert {"ECG200", "CBF", "ECGFiveDays", "FacesUCR", "DiatomSizeReduction", "ECG5000", "Adiac"} <= set(dev)
    everything = benchmark.resolve_datasets("all")
    assert len(everything) == 128 and "GunPoint" in everything
    assert benchmark.resolve_datasets(" Beef, GunPoint,dev") == ["Beef", "GunPoint", *dev[1:]]
    for bad in ("", " , ", "../GunPoint"):
        with pytest.raises(ValueError):
            benchmark.resolve_datasets(bad)


def test_the_multivariate_group_names_the_six_datasets_of_issue_24():
    six = ["Sines", "BasicMotions", "JapaneseVowels", "PickupGestureWiimoteZ", "AllGestureWiimoteX",
           "GesturePebbleZ1"]  # fmt: skip
    assert benchmark.resolve_datasets("multivariate") == six
    assert benchmark.resolve_datasets("GunPoint,multivariate,Sines") == ["GunPoint", *six]
    benchmark.check_datasets(six)  # every one resolves (offline: by name, nothing loaded)


def test_unknown_names_are_refused_when_the_spec_is_made():
    with pytest.raises(FileNotFoundError, match=r"'GunPont' is neither .* Did you mean: GunPoint") as info:
        _spec(["GunPoint", "GunPont", "NoSuchDataset"])
    assert "'NoSuchDataset' is neither" in str(info.value)
    benchmark.check_datasets(benchmark.resolve_datasets("all"))  # every published name resolves


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"datasets": []}, "at least one dataset"),
        ({"datasets": ["GunPoint", "ArrowHead", "GunPoint"]}, "more than once: GunPoint"),
        ({"datasets": ["../GunPoint"]}, "not paths"),
        ({"runs": 0}, "runs must be an integer >= 1"),
        ({"seed": -1}, "seed must be"),
        ({"fcn_epochs": 0}, "fcn_epochs must be"),
        ({"n_samples": 1}, "n_samples must be an integer >= 2"),
        ({"steps": 0}, "steps must be"),
        ({"field_repeats": 0}, "field_repeats must be an integer >= 1"),
        ({"runs": 2.5}, "runs must be an integer"),
        ({"preset": "huge"}, "unknown preset 'huge'"),
    ],
)
def test_spec_refuses_what_would_fail_later(changes, message):
    datasets = changes.pop("datasets", ["GunPoint"])
    with pytest.raises(ValueError, match=message):
        _spec(datasets, **changes)


def test_spec_is_frozen_and_records_its_comparable_settings(tmp_path):
    spec = _spec(["GunPoint", "ArrowHead"], ucr_root=str(tmp_path))
    assert spec.datasets == ("GunPoint", "ArrowHead") and spec.ucr_root == tmp_path
    assert spec.settings() == SMOKE and tuple(spec.settings()) == benchmark.RECORDED
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.runs = 5


def test_cli_refuses_an_unknown_dataset_in_one_line_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr(benchmark, "run_benchmark", lambda *a, **k: pytest.fail("ran before the names"))
    args = ["benchmark", "--datasets", "dev,NoSuchDataset", "--preset", "tiny", "--out", tmp_path / "b"]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 2 and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: 'NoSuchDataset' is neither"), result.stderr
    assert not (tmp_path / "b").exists()


# What `_train_or_load` returns in tests that stop at `evaluate`: a model trained without validation checks.
_UNTRAINED = SimpleNamespace(
    config=SimpleNamespace(validation=SimpleNamespace(enabled=False), frequency=config.FrequencyConfig())
)


def test_thesis_sampling_settings_by_default(monkeypatch, tmp_path):
    """For `paper`, without the smoke overrides, evaluation gets 1024 series and the protocol's thesis
    settings."""
    assert protocol.UNCONDITIONAL_SAMPLING == {"steps": 128, "rescale": 0.1}
    assert protocol.CONDITIONAL_SAMPLING == {"steps": 32, "guidance": 3.0, "rescale": 0.1}
    calls = []

    def fake_evaluate(model, train, **kwargs):
        calls.append(kwargs)
        raise KeyboardInterrupt  # stop before anything is written

    monkeypatch.setattr(benchmark, "_train_or_load", lambda *args: (_UNTRAINED, {}))
    monkeypatch.setattr(benchmark, "evaluate", fake_evaluate)
    with pytest.raises(KeyboardInterrupt):
        benchmark.run_dataset("GunPoint", benchmark.BenchmarkSpec(["GunPoint"], preset="paper"), tmp_path)
    (kwargs,) = calls
    assert kwargs["n_samples"] == 1024 and kwargs["runs"] == 3 and kwargs["fcn_epochs"] == 1000
    assert not {"steps", "guidance", "rescale"} & kwargs.keys()
    assert kwargs["frequency"] == config.FrequencyConfig()  # the model's STFT settings for the FID reference


def test_other_presets_sample_both_modes_with_their_own_defaults(monkeypatch, tmp_path):
    """`best` measures what a user gets: its steps, w and gamma, in both modes; `paper` keeps the thesis's."""
    assert benchmark.evaluation_sampling(config.get_preset("paper").sampling) == {}
    calls = []

    def fake_evaluate(model, train, **kwargs):
        calls.append(kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(benchmark, "_train_or_load", lambda *args: (_UNTRAINED, {}))
    monkeypatch.setattr(benchmark, "evaluate", fake_evaluate)
    with pytest.raises(KeyboardInterrupt):
        benchmark.run_dataset("GunPoint", benchmark.BenchmarkSpec(["GunPoint"], preset="best"), tmp_path)
    best = config.get_preset("best").sampling
    # γ is the protocol's already; steps and w are best's
    assert best.rescale == protocol.CONDITIONAL_SAMPLING["rescale"] and "rescale" not in calls[0]
    assert {k: calls[0][k] for k in ("steps", "guidance")} == {"steps": best.steps, "guidance": best.guidance}


@pytest.mark.parametrize("name", sorted(config.PRESETS))
def test_every_preset_is_evaluated_with_its_own_sampling_defaults(name):
    """What `evaluate` makes of the arguments (the protocol's settings, overridden) is the preset's own
    per-mode defaults: no preset needs a branch of its own."""
    sampling = config.get_preset(name).sampling
    args = benchmark.evaluation_sampling(sampling)
    uncond = {**protocol.UNCONDITIONAL_SAMPLING, **args}
    cond = {**protocol.CONDITIONAL_SAMPLING, **args}
    assert (uncond["steps"], uncond["rescale"]) == (sampling.steps, sampling.rescale)
    assert (cond["steps"], cond["guidance"]) == sampling.mode_defaults(conditional=True)
    assert cond["rescale"] == sampling.rescale
    assert benchmark.evaluation_sampling(sampling, steps=2)["steps"] == 2


def test_a_preset_whose_modes_differ_from_the_thesis_and_each_other_is_refused():
    odd = config.SamplingConfig(steps=64, conditional_steps=16)
    with pytest.raises(ValueError, match="one steps unless they are the thesis's"):
        benchmark.evaluation_sampling(odd)


def _imports_the_harness(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import) and any(a.name == "timevqvdm.benchmark" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module in ("timevqvdm.benchmark", "benchmark"):
                return True
            if module in ("timevqvdm", "") and any(a.name == "benchmark" for a in node.names):
                return True
    return False


def test_the_core_does_not_import_the_harness():
    package = Path(benchmark.__file__).parent
    importers = [p.relative_to(package).as_posix() for p in package.rglob("*.py") if _imports_the_harness(p)]
    assert importers == ["cli.py"]


# ------------------------------------------------------------------------------------------- records
def test_record_holds_metrics_ratios_timing_environment_and_published(bench):
    record = _record(bench, "GunPoint")
    assert record["status"] == "ok" and record["format"] == benchmark.FORMAT
    assert record["settings"] == SMOKE
    assert record["data"] == {"n_train": 50, "n_test": 150, "n_classes": 2, "n_channels": 1, "length": 150}
    metrics = record["metrics"]
    for mode in ("unconditional", "conditional"):
        assert len(metrics[mode]["fid_runs"]) == 2 and metrics[mode]["fid"] >= 0
        assert metrics[mode]["fid_std"] >= 0 and 1.0 <= metrics[mode]["is"] <= 2.0
    assert metrics["unconditional"]["sampling"] == {"steps": 2, "rescale": 0.1}
    # tiny is not `paper`: both modes sample with its own defaults (w = 1), the smoke steps aside.
    assert metrics["conditional"]["sampling"] == {"steps": 2, "guidance": 1.0, "rescale": 0.1}
    assert 0.0 <= metrics["conditional"]["tstr_accuracy"] <= 1.0
    assert "copy_share" in metrics["memorisation"]
    floor = metrics["reference"]["fid_train_test"]
    assert record["ratios"]["unconditional"] == pytest.approx(metrics["unconditional"]["fid"] / floor)
    assert record["ratios"]["conditional"] == pytest.approx(metrics["conditional"]["fid"] / floor)
    timing = record["timing"]
    assert timing["train_seconds"] > 0 and timing["trained_now"] and not timing["train_resumed"]
    assert timing["sample_seconds"] > 0 and timing["uncond_seconds_per_1024"] > 0
    assert timing["sampled_series"] == sum(c["n"] for c in timing["sample_calls"])
    assert record["environment"]["torch"] and record["environment"]["threads"] >= 1
    assert record["published"]["thesis_uncond_FID"] == 4.45
    assert record["published"]["timevqvae_FID"] == 0.8
    assert (bench["out"] / "models" / "GunPoint" / "model.json").is_file()
    assert (bench["out"] / "plots" / "GunPoint" / "real_vs_synthetic.png").is_file()
    assert not any(c.get("from_store") for c in timing["sample_calls"])
    assert not (bench["out"] / "evaluation" / "GunPoint").exists()  # resumable state, removed when done


def test_records_are_strict_json(bench):
    def refuse(token):
        raise AssertionError(f"non-standard JSON constant {token}")

    for path in (bench["out"] / "results").glob("*.json"):
        json.loads(path.read_text(), parse_constant=refuse)


def test_interrupted_dataset_resumes_from_its_checkpoint(bench):
    record = _record(bench, "TinyItaly")
    assert record["status"] == "ok" and record["published"] is None
    assert record["data"]["n_train"] == 20 and record["data"]["length"] == 24
    assert record["timing"]["train_resumed"]
    # stage 1 was finished: resumed at its last step, no step run, no checkpoint rewritten
    stage1 = bench["stage1"]
    assert (stage1 / "checkpoint.safetensors").stat().st_mtime_ns == bench["before"]["ckpt_mtime"]
    assert (stage1 / "metrics.jsonl").read_text().count("\n") == bench["before"]["log_lines"]
    assert (stage1.parent / "stage2_hf" / "checkpoint.safetensors").is_file()


def test_an_interrupted_evaluation_resumes_from_its_stored_samples(bench, monkeypatch, tmp_path):
    """Killed after evaluating but before writing its record, a dataset's rerun reads its sample sets back
    instead of sampling again, resumes the TSTR classifier, and then removes that state."""
    real_evaluate = benchmark.evaluate

    def evaluate_then_die(*args, **kwargs):
        real_evaluate(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(protocol, "MIN_TSTR_SAMPLES", 64)
    monkeypatch.setattr(benchmark, "evaluate", evaluate_then_die)
    spec = _spec(["GunPoint"], models_from=bench["out"], cache_dir=tmp_path / "fcn")
    with pytest.raises(KeyboardInterrupt):
        benchmark.run_dataset("GunPoint", spec, tmp_path)
    work = tmp_path / "evaluation" / "GunPoint"
    assert len(list(work.glob("samples/*.npz"))) == 4  # 2 runs x (unconditional, conditional)
    assert len(list(work.glob("tstr-*/checkpoint.safetensors"))) == 1

    monkeypatch.setattr(benchmark, "evaluate", real_evaluate)
    monkeypatch.setattr(TimeVQVDM, "sample", lambda *args, **kw: pytest.fail("sampled again"))
    record = benchmark.run_dataset("GunPoint", spec, tmp_path)
    calls = record["timing"]["sample_calls"]
    assert len(calls) == 4 and all(call["from_store"] and call["seconds"] > 0 for call in calls)
    assert record["status"] == "ok" and 0.0 <= record["metrics"]["conditional"]["tstr_accuracy"] <= 1.0
    assert not work.exists()


def test_a_stored_sample_set_is_read_back_exactly_and_keyed_by_its_arguments(bench, tmp_path):
    model = TimeVQVDM.load(bench["out"] / "models" / "GunPoint", progress=False)
    sampler = benchmark._TimedSampler(model, store=tmp_path)
    first = sampler.sample(8, "proportional", seed=3, steps=2)
    again = sampler.sample(8, "proportional", seed=3, steps=2)
    np.testing.assert_array_equal(again.X, first.X)
    np.testing.assert_array_equal(again.y, first.y)
    assert again.classes == first.classes
    other = sampler.sample(8, None, seed=4, steps=2)
    assert other.y is None and not np.array_equal(other.X, first.X)
    assert [bool(c.get("from_store")) for c in sampler.calls] == [False, True, False]
    assert len(list(tmp_path.glob("*.npz"))) == 2

    with torch.no_grad():  # the same call to other weights (a retrained model) samples afresh
        next(model.prior_hf.parameters()).add_(1e-3)
    retrained = benchmark._TimedSampler(model, store=tmp_path)
    retrained.sample(8, "proportional", seed=3, steps=2)
    assert not retrained.calls[0].get("from_store") and len(list(tmp_path.glob("*.npz"))) == 3


def test_an_unreadable_stored_sample_set_is_named(bench, tmp_path):
    model = TimeVQVDM.load(bench["out"] / "models" / "GunPoint", progress=False)
    sampler = benchmark._TimedSampler(model, store=tmp_path)
    sampler.sample(4, None, seed=0, steps=2)
    (stored,) = tmp_path.glob("*.npz")
    content = stored.read_bytes()
    for damaged in (b"not an npz file", content[: len(content) // 2]):  # garbage, a cut-off write
        stored.write_bytes(damaged)
        with pytest.raises(ValueError, match=stored.name):
            sampler.sample(4, None, seed=0, steps=2)


def test_a_failing_dataset_is_recorded_and_the_others_run(bench):
    record = _record(bench, "BrokenItaly")
    assert record["status"] == "error" and "BrokenItaly_TEST.tsv" in record["error"] and record["traceback"]
    assert sorted(bench["seen"]) == [("BrokenItaly", False), ("GunPoint", False), ("TinyItaly", False)]
    assert [r["dataset"] for r in bench["result"].records] == DATASETS
    assert "Failed" in bench["result"].markdown.read_text()


# -------------------------------------------------------------------------------- tables and figures
def test_summary_tables_put_published_figures_beside_ours(bench):
    table = pd.read_csv(bench["out"] / "summary.csv").set_index("dataset")
    assert list(table.index) == ["BrokenItaly", "GunPoint", "TinyItaly", "median"]
    gunpoint = table.loc["GunPoint"]
    assert gunpoint["thesis_uncond_fid"] == 4.45 and gunpoint["timevqvae_fid"] == 0.8
    assert gunpoint["thesis_tstr"] == 86.67 and gunpoint["thesis_trtr"] == 100.0
    record = _record(bench, "GunPoint")
    assert gunpoint["uncond_fid"] == pytest.approx(record["metrics"]["unconditional"]["fid"])
    assert gunpoint["uncond_ratio"] == pytest.approx(record["ratios"]["unconditional"])
    assert gunpoint["n_classes"] == 2 and gunpoint["length"] == 150 and gunpoint["status"] == "ok"
    assert pd.isna(table.loc["TinyItaly", "thesis_uncond_fid"])
    assert table.loc["BrokenItaly", "status"] == "error"

    markdown = (bench["out"] / "summary.md").read_text()
    header, _, *rows = markdown.splitlines()
    assert "| FID | floor | ratio |" in header and "FID thesis" in header and "FID TimeVQVAE" in header
    gunpoint_line = next(r for r in rows if r.startswith("| GunPoint"))
    assert "| 4.45 | 0.80 |" in gunpoint_line and " ± " in gunpoint_line
    assert any(r.startswith("| **median**") for r in rows)
    assert "Unconditional FID below the thesis's on" in markdown and "of 1 datasets" in markdown


COMMITTED_RUNS = sorted(
    p.parent.name for p in COMMITTED.glob("*/summary.csv") if (p.parent / "results").is_dir()
)


@pytest.mark.parametrize("folder", COMMITTED_RUNS)
def test_committed_tables_regenerate_unchanged_from_their_records(folder, tmp_path):
    """summary.csv and summary.md of a committed benchmark are a function of its stored records alone."""
    committed = COMMITTED / folder
    shutil.copytree(committed / "results", tmp_path / "results")
    csv_path, md_path = benchmark.write_tables(tmp_path)
    assert csv_path.read_bytes() == (committed / "summary.csv").read_bytes()
    assert md_path.read_bytes() == (committed / "summary.md").read_bytes()


def test_both_tables_follow_the_one_column_declaration(bench):
    """Every column of `COLUMNS` outside a group, in order; the field's columns only where some record has
    field scores (none here)."""
    plain = [c for c in benchmark.COLUMNS if c.group is None]
    assert {c.group for c in benchmark.COLUMNS} == {None, "field"}
    csv_header = (bench["out"] / "summary.csv").read_text().splitlines()[0]
    assert csv_header.split(",") == [c.name for c in plain]
    markdown = (bench["out"] / "summary.md").read_text()
    assert markdown.splitlines()[0].strip("| ").split(" | ") == [c.header for c in plain if c.header]
    assert "ctx-FID" not in markdown


def test_figures_25_to_27_are_pngs(bench):
    assert [p.name for p in bench["result"].figures] == list(benchmark.FIGURES.values())
    for path in bench["result"].figures:
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000


def test_fit_line_is_least_squares_in_log_space():
    x = np.array([1.0, 10.0, 100.0])
    slope, intercept = benchmark.fit_line(x, 10 * x**2)
    assert slope == pytest.approx(2.0) and intercept == pytest.approx(1.0)
    slope, intercept = benchmark.fit_line(x, 3 + 2 * np.log10(x), log_y=False)
    assert slope == pytest.approx(2.0) and intercept == pytest.approx(3.0)
    assert benchmark.fit_line(np.array([5.0, 5.0]), np.array([1.0, 2.0])) is None


# ------------------------------------------------------------------------------------------ reruns
def test_a_second_call_skips_finished_datasets(bench, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("a finished dataset was trained again")

    monkeypatch.setattr(TimeVQVDM, "fit", no_training)
    monkeypatch.setattr(benchmark, "evaluate", no_training)
    done = ["GunPoint", "TinyItaly"]
    mtimes = {n: os.stat(benchmark.result_path(bench["out"], n)).st_mtime_ns for n in done}
    seen = []
    benchmark.run_benchmark(
        _spec(done, ucr_root=bench["ucr_root"]), bench["out"],
        on_result=lambda name, record, skipped: seen.append((name, skipped)),
    )  # fmt: skip
    assert seen == [("GunPoint", True), ("TinyItaly", True)]
    assert {n: os.stat(benchmark.result_path(bench["out"], n)).st_mtime_ns for n in done} == mtimes


def test_other_settings_in_the_same_folder_are_refused(bench):
    with pytest.raises(ValueError, match="another --out"):
        benchmark.run_benchmark(_spec(["GunPoint"], preset="quick"), bench["out"])
    with pytest.raises(ValueError, match="runs: 2 there, 3 now"):
        benchmark.run_dataset("GunPoint", _spec(["GunPoint"], runs=3), bench["out"])


def _tiny_with_guidance_2():
    cfg = config.get_preset("tiny")
    return cfg.replace(sampling=dataclasses.replace(cfg.sampling, guidance=2.0))


def test_models_from_reuses_a_model_trained_the_same_way(bench, monkeypatch, tmp_path):
    # A preset that trains as `tiny` and samples with w = 2 evaluates the tiny benchmark's model untrained.
    monkeypatch.setitem(config.PRESETS, "tiny-w2", _tiny_with_guidance_2)
    monkeypatch.setattr(protocol, "MIN_TSTR_SAMPLES", 64)
    monkeypatch.setattr(TimeVQVDM, "fit", lambda *a, **k: pytest.fail("trained instead of reusing"))
    spec = _spec(["GunPoint"], preset="tiny-w2", models_from=bench["out"], cache_dir=tmp_path / "fcn")
    record = benchmark.run_dataset("GunPoint", spec, tmp_path / "w2")
    assert record["status"] == "ok" and record["timing"]["trained_now"] is False
    assert record["model_dir"] == str(benchmark.model_dir(bench["out"], "GunPoint"))
    assert record["metrics"]["conditional"]["sampling"] == {"steps": 2, "guidance": 2.0, "rescale": 0.1}
    assert record["sampling_defaults"]["guidance"] == 2.0
    assert not (tmp_path / "w2" / "models").exists()


def test_models_from_refuses_other_training_or_a_missing_model(bench, tmp_path):
    with pytest.raises(ValueError, match="trained with another configuration"):
        benchmark.run_dataset("GunPoint", _spec(["GunPoint"], preset="quick", models_from=bench["out"]),
                              tmp_path / "q")  # fmt: skip
    with pytest.raises(FileNotFoundError, match="no trained model to reuse"):
        benchmark.run_dataset("GunPoint", _spec(["GunPoint"], models_from=tmp_path / "empty"), tmp_path / "t")


def test_cli_benchmark_skips_done_work_and_prints_the_table(bench):
    common = ["benchmark", "--out", bench["out"], "--datasets", "GunPoint,TinyItaly", "--runs", "2"]
    smoke = ["--fcn-epochs", "2", "--n-samples", "32", "--steps", "2", "--ucr-root", bench["ucr_root"]]
    runner = CliRunner()
    result = runner.invoke(app, [str(a) for a in [*common, "--preset", "tiny", *smoke]])
    assert result.exit_code == 0, result.output
    assert "GunPoint: skipped" in result.output
    assert result.output.strip().endswith(str(bench["out"] / "summary.md"))
    result = runner.invoke(app, [str(a) for a in [*common, "--preset", "quick", *smoke]])
    assert result.exit_code == 2 and "another --out" in result.output


# ------------------------------------------------------------------------------------------ workers
def test_worker_plan_gives_each_worker_one_gpu_and_a_share_of_the_cpus():
    plan = benchmark.worker_plan(4, n_gpus=2, n_cpus=16)
    assert [p["cuda_visible_devices"] for p in plan] == ["0", "1", "0", "1"]
    assert {p["threads"] for p in plan} == {4}
    assert benchmark.worker_plan(2, n_gpus=0, n_cpus=2) == [{"cuda_visible_devices": None, "threads": 1}] * 2
    assert benchmark.worker_plan(3, n_gpus=1, n_cpus=2)[2] == {"cuda_visible_devices": None, "threads": 1}


# ---------------------------------------------------------------------------------------------- executors
def _keys(value):
    """The record's shape: nested dict keys (list entries and values aside)."""
    return {k: _keys(v) for k, v in value.items()} if isinstance(value, dict) else None


def test_cli_runs_two_datasets_as_ray_tasks_on_a_local_instance(bench, tmp_path):
    pytest.importorskip("ray", reason="the cluster extra is not installed: pip install -e '.[cluster]'")
    ucr_root, out = tmp_path / "ucr", tmp_path / "out"
    names = ["TinyItalyA", "TinyItalyB"]
    for name in names:
        _write_tiny_italy(ucr_root, name)
    smoke = ["--preset", "tiny", "--runs", "2", "--fcn-epochs", "2", "--n-samples", "32", "--steps", "2"]
    args = ["benchmark", "--executor", "ray", "--workers", "1", "--datasets", ",".join(names), *smoke,
            "--ucr-root", ucr_root, "--out", out]  # fmt: skip
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    local = _record(bench, "TinyItaly")  # the same kind of dataset through the local executor
    for name in names:
        record = json.loads(benchmark.result_path(out, name).read_text())
        assert record["status"] == "ok", record.get("traceback")
        assert record["settings"] == SMOKE and _keys(record) == _keys(local)
        assert (out / "models" / name / "model.json").is_file()
    table = pd.read_csv(out / "summary.csv")
    assert list(table["dataset"]) == [*names, "median"]
    assert result.output.strip().endswith(str(out / "summary.md"))


def test_cli_asks_for_the_cluster_extra_when_ray_is_missing(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    args = ["benchmark", "--executor", "ray", "--datasets", "GunPoint", "-o", tmp_path / "b"]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "pip install 'timevqvdm[cluster]'" in result.stderr
    assert not (tmp_path / "b").exists()


def test_executors_are_chosen_by_name():
    assert isinstance(benchmark.make_executor("local", workers=2), benchmark.LocalExecutor)
    with pytest.raises(ValueError, match="--address is for --executor ray"):
        benchmark.make_executor("local", address="auto")
    with pytest.raises(ValueError, match="unknown executor"):
        benchmark.make_executor("slurm")


# ------------------------------------------------------------------------------ the field's metrics
# Networks shrunk so that the four scores take about a second; only the plumbing is under test.
TINY_FIELD = FieldConfig(
    discriminative_iterations=5,
    predictive_iterations=5,
    batch_size=16,
    hidden_size=4,
    ts2vec=TS2VecConfig(hidden_channels=8, output_channels=16, depth=2, iterations=5),
)
FIELD_NAMES = ("discriminative", "predictive", "correlational", "context_fid")


def _cut(n_train, n_test):
    """`load_dataset` returning the first series of each split only (a tiny model trains in seconds)."""

    def load(name, split="train", **kwargs):
        data = load_dataset(name, split=split, **kwargs)
        return data.subset(np.arange(min(data.n_series, n_train if split == "train" else n_test)))

    return load


@pytest.fixture(scope="module")
def sines_field(tmp_path_factory):
    """Sines (200 training series) through `run_dataset` with ``field_repeats=1``, the tables written."""
    out = tmp_path_factory.mktemp("sines-field")
    seen = {"field": [], "samples": []}
    real_field_metrics, real_sample = benchmark.field_metrics, TimeVQVDM.sample

    def spy_field_metrics(real, synthetic, **kwargs):
        seen["field"].append({"real": real, "synthetic": synthetic, **kwargs})
        return real_field_metrics(real, synthetic, **kwargs)

    def spy_sample(self, n, labels=None, **kwargs):
        samples = real_sample(self, n, labels, **kwargs)
        seen["samples"].append((labels, samples))
        return samples

    spec = benchmark.BenchmarkSpec(
        ["Sines"], preset="tiny", runs=2, fcn_epochs=1, n_samples=24, steps=1, field_repeats=1,
        cache_dir=out / "fcn",
    )  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(benchmark, "load_dataset", _cut(200, 100))
        mp.setattr(benchmark, "FIELD_CONFIG", TINY_FIELD)
        mp.setattr(benchmark, "field_metrics", spy_field_metrics)
        mp.setattr(TimeVQVDM, "sample", spy_sample)
        record = benchmark.run_dataset("Sines", spec, out)
        benchmark.write_tables(out)
    return {"out": out, "record": record, "seen": seen}


def test_field_scores_of_the_first_unconditional_run_are_recorded(sines_field):
    record, seen = sines_field["record"], sines_field["seen"]
    assert record["status"] == "ok" and record["settings"]["field_repeats"] == 1
    field = record["field"]
    assert set(field["scores"]) == set(FIELD_NAMES)
    for name in FIELD_NAMES:
        score = field["scores"][name]
        assert len(score["runs"]) == 1 and score["std"] == 0 and score["mean"] == score["runs"][0] >= 0
    assert field["against"] == "train" and field["repeats"] == 1 and field["seed"] == 0
    assert field["n_real"] == 200 and field["n_synthetic"] == 24
    assert field["config"]["ts2vec"]["iterations"] == 5  # the budgets it was scored with
    assert not field["minmax_scaled"]  # Sines is scored as generated, as the papers do
    assert record["timing"]["field_seconds"] > 0

    # Scored once, on the very set `evaluate`'s first run drew (no second draw), against the training data
    (call,) = seen["field"]
    uncond = [samples for labels, samples in seen["samples"] if labels is None]
    assert len(uncond) == 2 == len(record["timing"]["sample_calls"])  # 2 runs, nothing sampled for the field
    np.testing.assert_array_equal(call["synthetic"], uncond[0].to_original_units(uncond[0].X))
    train = load_dataset("Sines").subset(np.arange(200))
    np.testing.assert_allclose(call["real"], train.to_original_units(train.X.astype(np.float64)))
    assert call["repeats"] == 1 and call["config"] is TINY_FIELD


def test_published_sines_figures_sit_beside_ours(sines_field):
    published = sines_field["record"]["published_field"]
    assert published["Diffusion-TS"]["discriminative"] == {
        "mean": 0.006, "std": 0.007, "source": "Yuan & Qiao 2024 (ICLR, arXiv 2403.01742), Table 1",
    }  # fmt: skip
    assert published["TimeGAN"]["context_fid"]["mean"] == 0.101
    assert published["FM-TS"] == {
        "discriminative": {
            "mean": 0.005,
            "std": None,
            "source": "Hu et al. 2024, arXiv 2411.07506v1, abstract",
        }
    }
    assert sines_field["record"]["published"] is None  # not a UCR dataset of the thesis's table

    out = sines_field["out"]
    table = pd.read_csv(out / "summary.csv").set_index("dataset")
    assert list(table.columns) == [c.name for c in benchmark.COLUMNS][1:]  # every column, the field's too
    sines = table.loc["Sines"]
    field = sines_field["record"]["field"]["scores"]
    for name in FIELD_NAMES:
        assert sines[f"field_{name}"] == pytest.approx(field[name]["mean"])
    assert sines["diffusionts_discriminative"] == 0.006 and sines["diffusionts_discriminative_std"] == 0.007
    assert sines["timegan_context_fid"] == 0.101 and sines["fmts_discriminative"] == 0.005
    assert pd.isna(sines["fmts_discriminative_std"])

    markdown = (out / "summary.md").read_text()
    assert "disc, pred, corr, ctx-FID: the field's" in markdown
    header, _, sines_line, *_ = markdown.splitlines()
    headers = header.strip("| ").split(" | ")
    cells = dict(zip(headers, sines_line.strip("| ").split(" | "), strict=True))
    assert cells["disc Diffusion-TS"] == "0.006 ± 0.007" and cells["disc FM-TS"] == "0.005"
    assert cells["pred TimeGAN"] == "0.093 ± 0.019" and cells["ctx-FID Diffusion-TS"] == "0.006 ± 0.000"
    assert cells["corr"] == f"{field['correlational']['mean']:.3f} ± 0.000"
    assert headers.index("disc") < headers.index("disc Diffusion-TS") < headers.index("pred")


def test_field_scores_of_variable_length_data_are_masked_and_minmax_scaled(monkeypatch):
    """JapaneseVowels (12 channels, 7 to 29 steps): both masks reach the scores, and both sets are scaled
    with the real training split's per-channel minimum and maximum."""
    train = load_dataset("JapaneseVowels").subset(np.arange(60))
    samples = load_dataset("JapaneseVowels", split="test", stats=train.stats).subset(np.arange(40))
    assert train.mask is not None and samples.mask is not None
    calls = []
    monkeypatch.setattr(benchmark, "FIELD_CONFIG", TINY_FIELD)
    monkeypatch.setattr(benchmark, "field_metrics", lambda r, s, **kw: calls.append((r, s, kw)) or {})
    spec = benchmark.BenchmarkSpec(["JapaneseVowels"], field_repeats=3, seed=4)
    field = benchmark.field_scores(train, samples, spec)
    assert field["minmax_scaled"] and field["n_real"] == 60 and field["n_synthetic"] == 40
    ((real, synthetic, kwargs),) = calls
    assert kwargs["mask_real"] is train.mask and kwargs["mask_synthetic"] is samples.mask
    assert kwargs["repeats"] == 3 and kwargs["seed"] == 4
    observed = np.moveaxis(real, 1, 0)[:, train.mask]  # (12 channels, observed steps of all series)
    np.testing.assert_allclose(observed.min(axis=1), 0.0, atol=1e-9)
    np.testing.assert_allclose(observed.max(axis=1), 1.0, atol=1e-6)
    expected = minmax_scale(
        train.to_original_units(train.X.astype(np.float64)),
        samples.to_original_units(samples.X.astype(np.float64)),
        mask_real=train.mask,
    )
    np.testing.assert_array_equal(synthetic, expected[1])  # with the real training data's statistics
    with pytest.raises(ValueError, match="no unconditional sample set"):
        benchmark.field_scores(train, None, spec)


def test_cli_field_metrics_option_reaches_the_spec(tmp_path, monkeypatch):
    specs = []

    def fake_run_benchmark(spec, out, **kwargs):
        specs.append(spec)
        return SimpleNamespace(records=[], markdown=out / "summary.md")

    monkeypatch.setattr(benchmark, "run_benchmark", fake_run_benchmark)
    base = ["benchmark", "--datasets", "multivariate", "--preset", "tiny", "--out", str(tmp_path / "b")]
    runner = CliRunner()
    result = runner.invoke(app, [*base, "--field-metrics", "5"])
    assert result.exit_code == 0, result.output
    (spec,) = specs
    assert spec.field_repeats == 5 and spec.settings()["field_repeats"] == 5
    assert spec.datasets == tuple(benchmark.MULTIVARIATE_DATASETS)
    result = runner.invoke(app, [*base, "--field-metrics", "0"])
    assert result.exit_code == 2 and "--field-metrics" in result.output and len(specs) == 1
    assert runner.invoke(app, base).exit_code == 0
    assert specs[-1].field_repeats is None  # off unless asked for
