"""Validation-driven training end to end: the held-out part, the checks of each stage, the presets."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from timevqvdm import TimeVQVDM, get_preset, load_dataset
from timevqvdm.config import TrainConfig, ValidationConfig
from timevqvdm.data.split import split_validation, validation_indices
from timevqvdm.diffusion import denoising_error, diffusion_loss, quasi_uniform_times
from timevqvdm.diffusion.noise import gaussian
from timevqvdm.prior.latent_prior import build_prior
from timevqvdm.tokenizer import build_tokenizer
from timevqvdm.validation import HeldOutLatents, HeldOutSeries, copy_limit, prior_monitor


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([8, 8], [2, 2]),  # a fifth of each class, rounded
        ([10, 3, 1], [2, 1, 0]),  # at least one of a class that can spare one; a lone series stays
        ([4, 4, 4, 4], [1, 1, 1, 1]),  # 16 series, 4 classes
        ([1, 6, 5, 4], [0, 1, 1, 1]),  # DiatomSizeReduction's training split
        ([50, 50], [10, 10]),
    ],
)
def test_the_validation_part_is_stratified_by_the_documented_rule(counts, expected):
    y = np.repeat(np.arange(len(counts)), counts)
    np.random.default_rng(0).shuffle(y)
    val = validation_indices(y, len(y), fraction=0.2, seed=0)
    assert np.bincount(y[val], minlength=len(counts)).tolist() == expected
    assert len(np.unique(val)) == len(val)


def test_the_validation_part_has_two_series_at_least_and_refuses_what_cannot_spare_them():
    assert len(validation_indices(None, 5, fraction=0.2)) == 2  # unlabelled: one class of 5 -> 1, topped up
    with pytest.raises(ValueError, match="at least 4"):
        validation_indices(None, 3)
    with pytest.raises(ValueError, match="removing a class"):
        validation_indices(np.array([0, 1, 2, 3]), 4)


def test_split_is_disjoint_complete_and_identical_for_a_seed():
    train = load_dataset("GunPoint", split="train")
    part, held = split_validation(train, fraction=0.2, seed=3)
    again_part, again_held = split_validation(train, fraction=0.2, seed=3)
    assert np.array_equal(held.X, again_held.X) and np.array_equal(part.X, again_part.X)
    rows = {x.tobytes() for x in train.X}
    assert {x.tobytes() for x in part.X}.isdisjoint({x.tobytes() for x in held.X})
    assert {x.tobytes() for x in part.X} | {x.tobytes() for x in held.X} == rows
    assert (held.mean, held.std, held.classes) == (train.mean, train.std, train.classes)
    other = split_validation(train, fraction=0.2, seed=4)[1]
    assert not np.array_equal(other.X, held.X)


def test_denoising_error_at_the_training_draws_is_the_training_loss():
    torch.manual_seed(0)
    net = torch.nn.Conv1d(2, 2, 3, padding=1)

    def model(z, t, y, cond=None):
        return net(z) * t[:, None, None]

    z0 = torch.randn(6, 2, 8)
    y = torch.zeros(6, dtype=torch.long)
    loss = diffusion_loss(model, z0, y=y, generator=torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)
    t = quasi_uniform_times(6, g, "cpu")
    eps = gaussian(z0.shape, generator=g, device="cpu")
    assert torch.equal(loss, denoising_error(model, z0, t, eps, y=y))


def test_tokenizer_validation_loss_is_the_reconstruction_term_and_leaves_the_codebook():
    cfg = get_preset("tiny")
    torch.manual_seed(0)
    tokenizer = build_tokenizer(64, 1, cfg.frequency, cfg.tokenizer).eval()
    batch = tokenizer.split(torch.randn(5, 1, 64))
    codebook = tokenizer.bands["lf"].quantizer.codebook.clone()
    scores = tokenizer.validation_loss(batch, batch_size=2)  # chunked means equal the whole-batch mean
    with torch.no_grad():
        _, logs = tokenizer.training_loss(batch)
    assert scores["val_recon_lf"] == pytest.approx(logs["recon_lf"], rel=1e-5)
    assert scores["val_recon_hf"] == pytest.approx(logs["recon_hf"], rel=1e-5)
    assert scores["val_loss"] == pytest.approx(scores["val_recon_lf"] + scores["val_recon_hf"])
    assert torch.equal(tokenizer.bands["lf"].quantizer.codebook, codebook)


def _monitored_tiny(**validation):
    cfg = get_preset("tiny")
    cfg.stage1 = TrainConfig(epochs=12, batch_size=32, checkpoint_every=4)
    cfg.stage2 = TrainConfig(epochs=12, batch_size=32, checkpoint_every=4)
    settings = dict(
        enabled=True, stage1_every=4, stage2_every=4, novelty_samples=16, novelty_steps=2, lockstep=False
    )
    settings.update(validation)
    return cfg.replace(validation=dataclasses.replace(cfg.validation, **settings))


@pytest.mark.slow
def test_fit_holds_out_the_validation_part_and_records_every_check(tmp_path):
    train = load_dataset("GunPoint", split="train")
    cfg = _monitored_tiny(stage2_patience=100, copy_threshold=1.0)
    model = TimeVQVDM(config=cfg, progress=False).fit(train, run_dir=tmp_path / "runs")
    assert model.history["validation_split"] == {"n_train": 40, "n_val": 10}
    stage1 = model.history["stage1"]
    # 40 training series are two batches an epoch: 24 steps, scored every 4.
    assert [r["step"] for r in stage1["validation"]][:2] == [4, 8]
    assert stage1["stop"]["reason"] in ("plateau", "budget")
    for name in ("stage2_lf", "stage2_hf"):
        record = model.history[name]["validation"][0]
        assert {"val_loss", "copy_share", "median_ratio", "val_fid", "train_fid", "copy_limit"} <= set(record)
        assert 0.0 <= record["copy_share"] <= 1.0
        # The copy threshold pools 10 held-out and 40 leave-one-out training distances: an honest
        # generator scores above 0.05 against them, and the limit with it.
        assert record["copy_limit"] == pytest.approx(copy_limit(1.0, 50))
        assert record["copy_limit"] > 1.0
    saved = TimeVQVDM.load(model.save(tmp_path / "model"))
    assert saved.history["stage2_hf"]["stop"] == model.history["stage2_hf"]["stop"]


@pytest.mark.slow
@pytest.mark.parametrize(("novelty_patience", "stop_step"), [(1, 4), (2, 8)])
def test_a_negative_copy_threshold_stops_each_prior_after_novelty_patience_checks(
    tmp_path, novelty_patience, stop_step
):
    train = load_dataset("GunPoint", split="train")
    # Every sample set "copies": the run halts at the check that makes novelty_patience in a row.
    cfg = _monitored_tiny(copy_threshold=-1.0, novelty_patience=novelty_patience)
    model = TimeVQVDM(config=cfg, progress=False).fit(train)
    for name in ("stage2_lf", "stage2_hf"):
        stop = model.history[name]["stop"]
        assert stop["reason"] == "halt" and stop["step"] == stop_step and "novelty" in stop["detail"]


def test_the_copy_limit_keeps_twice_the_honest_level_of_a_small_held_out_part():
    # 5 held-out series (ECGFiveDays): an honest generator scores about 0.2 against them, so a fixed 0.1
    # would halt every honest prior; the limit is twice that honest level, and 0.1 for a large part.
    assert copy_limit(0.1, 5) == pytest.approx(0.4)
    assert copy_limit(0.1, 100_001) == pytest.approx(0.1, abs=1e-3)


@pytest.mark.parametrize(("select", "kept_step"), [("val_loss", 1), ("val_fid", 3)])
def test_the_priors_keep_the_check_with_the_lowest_chosen_score(select, kept_step):
    """Weights that do not change (one denoising loss at every check) and samples that come closest to the
    held-out part at the third check: the held-out FID keeps the third, the denoising loss the first."""
    rng = np.random.default_rng(0)
    x_train = rng.normal(size=(30, 1, 32)).astype(np.float32)
    x_val = rng.normal(size=(10, 1, 32)).astype(np.float32)
    prior = build_prior(
        latent_channels=4,
        latent_width=8,
        n_classes=0,
        cond_channels=0,
        cfg=get_preset("tiny").prior,
        band="lf",
    )
    latents = HeldOutLatents(z0=torch.randn(10, 4, 8), y=None)
    offsets = iter([3.0, 1.5, 0.0, 1.5, 3.0])  # how far each check's samples sit from the real series

    def draw_series(n, y, seed):
        picks = rng.integers(0, len(x_val), n)
        noise = 0.3 * rng.normal(size=(n, 1, 32))
        return (x_val[picks] + noise + next(offsets)).astype(np.float32)

    cfg = ValidationConfig(
        enabled=True, stage2_every=1, stage2_patience=5, novelty_samples=64, copy_threshold=1.0,
        stage2_select=select,
    )  # fmt: skip
    monitor = prior_monitor({"lf": (prior, latents)}, HeldOutSeries(x_train, x_val, np.array([])), draw_series,
                            cfg, seed=0)  # fmt: skip
    with torch.no_grad():  # as the trainer checks
        for step in range(1, 6):
            monitor.update(step, prior.state_dict)
    fids = [record["val_fid"] for record in monitor.history]
    assert int(np.argmin(fids)) == 2
    assert monitor.best_step == kept_step


def test_an_unknown_selection_score_is_refused():
    with pytest.raises(ValueError, match="stage2_select"):
        ValidationConfig(stage2_select="fid")


def test_paper_trains_its_fixed_budget_and_best_validates():
    assert get_preset("paper").validation.enabled is False
    assert get_preset("best").validation.enabled is True
    assert get_preset("best").validation.lockstep is True
    train = load_dataset("GunPoint", split="train")
    cfg = get_preset("tiny")  # validation off, as in paper
    model = TimeVQVDM(config=cfg, progress=False).fit(train)
    assert model.history["stage1"]["steps"] == 2 * 2  # 2 epochs of 2 batches of 32 (50 series)
    assert "stop" not in model.history["stage1"] and "validation_split" not in model.history


def test_validation_curves_are_drawn_with_the_stop_marked(tmp_path):
    from timevqvdm.evaluation import plot_validation_curves

    history = {
        "stage1": {"validation": [{"step": s, "val_loss": 1.0 / s} for s in (10, 20, 30)],
                   "stop": {"step": 30, "best_step": 20, "reason": "plateau"}},
        "stage2_lf": {"validation": [{"step": s, "val_loss": 1.0, "copy_share": s / 100, "val_fid": 2.0}
                                     for s in (10, 20)], "stop": {"step": 20, "best_step": 10}},
        "validation_split": {"n_train": 8, "n_val": 2},
    }  # fmt: skip
    path = plot_validation_curves(history, tmp_path / "curves.png", copy_threshold=0.1)
    assert path.stat().st_size > 1000 and path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="without validation"):
        plot_validation_curves({"stage1": {"steps": 3}}, tmp_path / "none.png")


@pytest.mark.slow
def test_the_plot_command_draws_a_validated_models_curves(tmp_path):
    from typer.testing import CliRunner

    from timevqvdm.cli import app

    train = load_dataset("GunPoint", split="train")
    cfg = _monitored_tiny(stage2_patience=100, copy_threshold=1.0)
    folder = TimeVQVDM(config=cfg, progress=False).fit(train).save(tmp_path / "model")
    out = tmp_path / "plots"
    result = CliRunner().invoke(
        app, ["plot", str(folder), "-n", "8", "--dataset", "GunPoint", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert (out / "validation_curves.png").read_bytes()[:4] == b"\x89PNG"
    assert str(out / "validation_curves.png") in result.output


@pytest.mark.slow
def test_refit_trains_every_network_on_all_series_for_the_kept_step_count(tmp_path):
    train = load_dataset("GunPoint", split="train")
    cfg = _monitored_tiny(stage2_patience=100, copy_threshold=1.0, refit=True)
    model = TimeVQVDM(config=cfg, progress=False).fit(train, run_dir=tmp_path / "runs")
    for name in ("stage1", "stage2_lf", "stage2_hf"):
        entry = model.history[name]
        kept = entry["stop"]["best_step"]
        assert entry["validation"] and entry["refit"]["steps"] == kept  # the held-out record stays beside
        assert (tmp_path / "runs" / "refit" / name / "checkpoint.safetensors").exists()
        refit_stops = [
            json.loads(line)
            for line in (tmp_path / "runs" / "refit" / name / "metrics.jsonl").read_text().splitlines()
            if '"stop"' in line
        ]
        assert refit_stops[0]["step"] == kept and "refit" in refit_stops[0]["detail"]


@pytest.fixture
def prior_draws(monkeypatch) -> list[str]:
    """Records which prior every `LatentPrior.sample` call draws ("lf", or "hf": conditioned), in order."""
    from timevqvdm.prior import LatentPrior

    calls = []
    original = LatentPrior.sample

    def recording(self, n, *args, cond=None, **kwargs):
        calls.append("hf" if cond is not None else "lf")
        return original(self, n, *args, cond=cond, **kwargs)

    monkeypatch.setattr(LatentPrior, "sample", recording)
    return calls


@pytest.mark.slow
def test_the_hf_checks_sample_the_frozen_lf_prior_once(prior_draws):
    calls = prior_draws
    train = load_dataset("GunPoint", split="train")
    model = TimeVQVDM(config=_monitored_tiny(stage2_patience=100, copy_threshold=1.0), progress=False)
    model.fit(train)
    lf_checks = len(model.history["stage2_lf"]["validation"])
    hf_checks = len(model.history["stage2_hf"]["validation"])
    assert hf_checks > 1
    assert calls == ["lf"] * lf_checks + ["lf"] + ["hf"] * hf_checks


@pytest.mark.slow
def test_lockstep_trains_both_priors_step_for_step_and_checks_whole_series(tmp_path, prior_draws):
    calls = prior_draws
    train = load_dataset("GunPoint", split="train")
    cfg = _monitored_tiny(stage2_patience=100, copy_threshold=1.0, lockstep=True)
    model = TimeVQVDM(config=cfg, progress=False).fit(train, run_dir=tmp_path / "runs")
    assert "stage2_lf" not in model.history and "stage2_hf" not in model.history
    entry = model.history["stage2"]
    assert entry["steps"] == 24 and entry["stop"]["reason"] == "budget"  # 12 epochs of 2 batches
    records = entry["validation"]
    assert [r["step"] for r in records] == list(range(4, 25, 4))
    for r in records:
        assert r["val_loss"] == pytest.approx(r["val_loss_lf"] + r["val_loss_hf"])
        # whole series (the training part's, of the same length) are the copy-share reference
        assert r["copy_limit"] == pytest.approx(copy_limit(1.0, 50))
    # every check draws the LF prior, then the HF prior on that draw: whole series, as `sample` does
    assert calls == ["lf", "hf"] * len(records)
    lines = (tmp_path / "runs" / "stage2" / "metrics.jsonl").read_text().splitlines()
    logged = [json.loads(line) for line in lines if '"loss_lf"' in line]
    assert logged and all(r["loss"] == pytest.approx(r["loss_lf"] + r["loss_hf"]) for r in logged)


@pytest.mark.slow
def test_lockstep_keeps_both_priors_at_the_best_check_and_refits_them_together(tmp_path):
    train = load_dataset("GunPoint", split="train")
    cfg = _monitored_tiny(copy_threshold=-1.0, novelty_patience=2, lockstep=True, refit=True)
    model = TimeVQVDM(config=cfg, progress=False).fit(train, run_dir=tmp_path / "runs")
    stop = model.history["stage2"]["stop"]
    assert stop["reason"] == "halt" and stop["step"] == 8 and "novelty" in stop["detail"]
    assert model.history["stage2"]["refit"]["steps"] == (stop["best_step"] or stop["step"])
    assert (tmp_path / "runs" / "refit" / "stage2" / "checkpoint.safetensors").exists()
    saved = TimeVQVDM.load(model.save(tmp_path / "model"))
    assert saved.config.validation.lockstep and saved.history["stage2"]["stop"] == stop
    assert saved.sample(4, seed=0).X.shape == (4, 1, 150)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_validated_lockstep_training_runs_on_a_gpu():
    # the held-out parts are built on the CPU while the networks train on the GPU
    cfg = _monitored_tiny(copy_threshold=1.0, lockstep=True)
    for stage in (cfg.stage1, cfg.stage2):
        stage.accelerator = "cuda"
    model = TimeVQVDM(config=cfg, device="cuda", progress=False).fit(load_dataset("GunPoint", split="train"))
    assert model.history["stage1"]["validation"] and model.history["stage2"]["validation"]
    assert model.sample(4, seed=0).X.shape == (4, 1, 150)
