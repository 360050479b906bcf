"""Variable-length series (issue 24): masked losses in both stages, the length model, NaN-padded outputs."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from timevqvdm import TimeVQVDM
from timevqvdm.config import get_preset
from timevqvdm.data import TimeSeriesDataset, load_dataset
from timevqvdm.data.lengths import draw_lengths, lengths_by_class
from timevqvdm.data.write import write_dataset
from timevqvdm.diffusion import diffusion_loss
from timevqvdm.evaluation import evaluate
from timevqvdm.prior import build_prior
from timevqvdm.tokenizer import build_tokenizer
from timevqvdm.tokenizer.losses import reconstruction_loss
from timevqvdm.validation import HeldOutSeries, _novelty_score

LENGTH = 48


def _padded_batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Series (6, 2, 48) and their mask: series 1 ends at 30, series 4 at 17."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(6, 2, LENGTH, generator=generator)
    mask = torch.ones(6, LENGTH, dtype=torch.bool)
    mask[1, 30:] = False
    mask[4, 17:] = False
    return x, mask


def _loss_and_grads(module, batch) -> tuple[float, dict[str, torch.Tensor]]:
    module = copy.deepcopy(module)  # the EMA codebook moves in a training forward pass
    module.zero_grad()
    loss, _ = module.training_loss(batch, torch.Generator().manual_seed(0))
    loss.backward()
    return loss.item(), {k: p.grad.clone() for k, p in module.named_parameters() if p.grad is not None}


def test_stage1_padding_gets_zero_gradient():
    cfg = get_preset("tiny")
    torch.manual_seed(0)
    tokenizer = build_tokenizer(LENGTH, 2, cfg.frequency, cfg.tokenizer).train()
    x, mask = _padded_batch()
    junk = torch.where(mask[:, None, :], x, 50.0 * torch.randn(x.shape))  # other values in the padding
    loss, grads = _loss_and_grads(tokenizer, tokenizer.split(x, mask))
    loss_junk, grads_junk = _loss_and_grads(tokenizer, tokenizer.split(junk, mask))
    assert loss == loss_junk
    for name, grad in grads.items():
        torch.testing.assert_close(grads_junk[name], grad, rtol=0, atol=0, msg=name)
    # the masked loss is not the plain one: padded steps (zeros here) no longer count
    unmasked, _ = _loss_and_grads(tokenizer, tokenizer.split(x * mask[:, None, :]))
    assert unmasked != pytest.approx(loss)


def test_stage1_loss_terms_ignore_padded_steps_and_columns():
    x, mask = _padded_batch()
    tokenizer = build_tokenizer(LENGTH, 2, get_preset("tiny").frequency, get_preset("tiny").tokenizer)
    parts = tokenizer.split(x, mask)
    x_hat = torch.randn_like(parts["x_lf"], requires_grad=True)
    u_hat = torch.randn_like(parts["u_lf"], requires_grad=True)
    loss = reconstruction_loss(parts["x_lf"], x_hat, parts["u_lf"], u_hat, parts["mask_x"], parts["mask_u"])
    loss.backward()
    assert (x_hat.grad[1, :, 30:] == 0).all() and (x_hat.grad[4, :, 17:] == 0).all()
    assert (x_hat.grad[1, :, :30] != 0).all()
    # spectrogram column w is centred on step w (hop 1): columns 30.. of series 1 are padding
    assert (u_hat.grad[1, ..., 30:] == 0).all() and (u_hat.grad[1, :, :, :30] != 0).any()
    assert (u_hat.grad[0] != 0).any(dim=(0, 1)).all()  # a full series: every column, the last included


def test_latent_mask_is_the_down_sampled_time_mask():
    cfg = get_preset("tiny")
    tokenizer = build_tokenizer(150, 1, cfg.frequency, cfg.tokenizer)  # W = 151; LF 151 -> 18, HF 151 -> 75
    mask = torch.ones(3, 150, dtype=torch.bool)
    mask[1, 40:] = False
    mask[2, 41:] = False
    lf, hf = tokenizer.latent_mask(mask, "lf"), tokenizer.latent_mask(mask, "hf")
    assert lf.shape == (3, 18) and hf.shape == (3, 75)
    assert lf[0].all() and hf[0].all()
    # LF spans 8 columns: position 4 covers columns 32..39, all observed for length 40, and 5 covers 40..47
    assert lf[1].tolist() == [True] * 5 + [False] * 13
    assert lf[2].tolist() == [True] * 6 + [False] * 12  # column 40 observed: position 5 counts
    assert hf[1].tolist() == [True] * 20 + [False] * 55  # HF spans 2 columns


def test_stage2_masked_latent_positions_get_zero_gradient():
    cfg = get_preset("tiny")
    torch.manual_seed(0)
    prior = build_prior(
        latent_channels=8, latent_width=16, n_classes=2, cond_channels=0, cfg=cfg.prior, band="lf"
    )
    z0 = torch.randn(4, 8, 16)
    mask = torch.ones(4, 16, dtype=torch.bool)
    mask[2, 9:] = False
    outputs = []

    def network(z_t, t, y, cond=None):
        out = prior.network(z_t, t, y, cond=cond)
        out.retain_grad()
        outputs.append(out)
        return out

    y = torch.zeros(4, dtype=torch.long)
    loss = diffusion_loss(network, z0, y=y, generator=torch.Generator().manual_seed(1), mask=mask)
    loss.backward()
    grad = outputs[0].grad
    assert (grad[2, :, 9:] == 0).all() and (grad[2, :, :9] != 0).all() and (grad[0] != 0).all()
    # the batch entry "mask" of LatentPrior.training_loss is that mask
    batch_loss, _ = prior.training_loss({"z0": z0, "y": y, "mask": mask}, torch.Generator().manual_seed(1))
    plain, _ = prior.training_loss({"z0": z0, "y": y}, torch.Generator().manual_seed(1))
    assert batch_loss.item() != pytest.approx(plain.item())


def _two_lengths(seed: int = 3, **stats) -> TimeSeriesDataset:
    """Class a: 8 series of length 20; class b: 8 of length 30 (padded to 30)."""
    rng = np.random.default_rng(seed)
    t = np.arange(30)
    X = np.sin(0.3 * t + rng.uniform(0, 3, size=(16, 1))) + 0.1 * rng.normal(size=(16, 30))
    y = np.repeat(["a", "b"], 8)
    X[y == "a", 20:] = np.nan
    return TimeSeriesDataset.from_arrays(X, y, **stats)


@pytest.fixture(scope="module")
def two_lengths_model():
    return TimeVQVDM(preset="tiny", progress=False, device="cpu").fit(_two_lengths())


def test_lengths_are_stored_per_class():
    assert lengths_by_class(_two_lengths()) == [[20] * 8, [30] * 8]
    assert (
        lengths_by_class(TimeSeriesDataset.from_arrays(np.random.default_rng(0).normal(size=(4, 16)))) is None
    )


def test_sampled_lengths_follow_the_training_lengths_per_class(two_lengths_model, tmp_path):
    out = two_lengths_model.sample(12, labels=["a", "b"] * 6, steps=2, seed=0)
    lengths = out.mask.sum(axis=1)
    assert (lengths[out.y == 0] == 20).all() and (lengths[out.y == 1] == 30).all()
    assert (out.X[out.y == 0][:, :, 20:] == 0).all()  # the padded tail
    # unconditional (null class): lengths from all training lengths
    free = two_lengths_model.sample(40, steps=1, seed=1, unconditional="null").mask.sum(axis=1)
    assert set(free.tolist()) == {20, 30}
    # stored in model.json: a loaded model draws the same lengths and values
    two_lengths_model.save(tmp_path / "m")
    loaded = TimeVQVDM.load(tmp_path / "m", progress=False, device="cpu")
    assert loaded.data_info.lengths == [[20] * 8, [30] * 8]
    again = loaded.sample(12, labels=["a", "b"] * 6, steps=2, seed=0)
    np.testing.assert_array_equal(again.mask, out.mask)
    np.testing.assert_array_equal(again.X, out.X)


def test_length_draws_are_empirical_per_class():
    lengths = [[10, 10, 12], [30]]
    y = np.array([0] * 3000 + [1] * 10)
    drawn = draw_lengths(lengths, y, len(y), seed=0)
    assert set(drawn[:3000].tolist()) == {10, 12} and (drawn[3000:] == 30).all()
    assert np.mean(drawn[:3000] == 12) == pytest.approx(1 / 3, abs=0.03)
    np.testing.assert_array_equal(drawn, draw_lengths(lengths, y, len(y), seed=0))


@pytest.mark.parametrize("suffix", [".npz", ".csv", ".parquet"])
def test_samples_are_written_with_nan_tails_or_fewer_rows(two_lengths_model, tmp_path, suffix):
    import pandas as pd

    out = two_lengths_model.sample(6, labels=["a", "b"] * 3, steps=1, seed=2)
    path = write_dataset(out, tmp_path / f"s{suffix}")
    if suffix == ".npz":
        X = np.load(path)["X"]
        assert np.isnan(X[0, :, 20:]).all() and not np.isnan(X[0, :, :20]).any() and not np.isnan(X[1]).any()
    elif suffix == ".csv":
        frame = pd.read_csv(path)
        assert frame.shape == (6, 31) and frame.iloc[0, 21:].isna().all() and frame.iloc[1].notna().all()
    else:
        frame = pd.read_parquet(path)  # long layout: a series has as many rows as steps
        assert frame.groupby("series").size().tolist() == [20, 30] * 3
    back = load_dataset(path, label_column=None if suffix == ".npz" else "label")
    np.testing.assert_array_equal(back.mask, out.mask)
    assert [back.classes[k] for k in back.y] == ["a", "b"] * 3
    observed = back.to_original_units(back.X) * back.mask[:, None, :]  # padding maps to the mean: drop it
    np.testing.assert_allclose(observed, out.X, rtol=1e-5, atol=1e-6)


def test_a_variable_length_multichannel_dataset_fits_and_samples():
    data = load_dataset("JapaneseVowels").subset(np.arange(0, 270, 9))  # 30 series, 12 channels, 9 classes
    model = TimeVQVDM(preset="tiny", progress=False, device="cpu").fit(data)
    out = model.sample(9, labels=list(range(9)), steps=1, seed=0)
    assert out.X.shape == (9, 12, data.length) and out.mask is not None
    for k in range(9):
        assert out.mask[k].sum() in model.data_info.lengths[k]


def test_evaluate_reports_the_length_check_of_a_variable_length_model(two_lengths_model, tmp_path):
    train = _two_lengths()
    test = _two_lengths(seed=4, stats=train.stats, classes=train.classes)
    result = evaluate(
        two_lengths_model,
        train,
        test=test,
        n_samples=16,
        fcn_epochs=2,
        steps=1,
        tstr=False,
        cache_dir=tmp_path,
    )
    json.dumps(result)
    for mode in ("unconditional", "conditional"):
        lengths = result[mode]["lengths"]
        assert lengths["n_real"] == 16 and lengths["n_synthetic"] == 16
        assert 0.0 <= lengths["ks_statistic"] <= 1.0 and 0.0 <= lengths["ks_p_value"] <= 1.0
    # the length model draws each class's training lengths: per class the distributions are equal
    per_class = result["conditional"]["lengths"]["per_class"]
    assert {name: v["ks_statistic"] for name, v in per_class.items()} == {"a": 0.0, "b": 0.0}
    assert "per_class" not in result["unconditional"]["lengths"]
    assert result["reference"]["lengths_test"]["ks_statistic"] == 0.0  # the test split's lengths: the same
    assert result["memorisation"]["n_synthetic"] == 16 and result["conditional"]["fid"] >= 0.0


def test_the_novelty_check_draws_lengths_and_ignores_padding():
    """Samples that copy training series on their observed steps are copies, whatever their tails hold."""
    rng = np.random.default_rng(0)
    length, n = 30, 24
    mask_train = np.arange(length)[None, :] < 20  # every training series has length 20
    x_train = (rng.normal(size=(n, 1, length)) * mask_train[:, None]).astype(np.float32)
    mask_val = np.arange(length)[None, :] < rng.integers(15, 31, size=(12, 1))
    x_val = (rng.normal(size=(12, 1, length)) * mask_val[:, None]).astype(np.float32)

    def draw_copies(count, y, seed):  # training series, and junk where the length model pads
        x = x_train[np.arange(count) % n].copy()
        x[..., 20:] = 50.0 * rng.normal(size=x[..., 20:].shape)
        return x

    def held_out(**padding):
        return HeldOutSeries(x_train, x_val, np.array([]), **padding)

    padding = {
        "mask_train": np.broadcast_to(mask_train, (n, length)),
        "mask_val": mask_val,
        "lengths": [[20] * n],
    }
    score = _novelty_score(held_out(**padding), draw_copies, 16, seed=0)(0)
    assert score["copy_share"] == 1.0
    assert (
        _novelty_score(held_out(), draw_copies, 16, seed=0)(0)["copy_share"] == 0.0
    )  # junk hides the copies


def test_a_stored_sample_set_keeps_its_mask(two_lengths_model, tmp_path):
    """The benchmark's resumable sample store reads a variable-length set back with its mask."""
    from timevqvdm import benchmark

    sampler = benchmark._TimedSampler(two_lengths_model, store=tmp_path)
    first = sampler.sample(6, ["a", "b"] * 3, steps=1, seed=0)
    again = sampler.sample(6, ["a", "b"] * 3, steps=1, seed=0)
    assert sampler.calls[1]["from_store"] and first.mask is not None
    np.testing.assert_array_equal(again.mask, first.mask)
    np.testing.assert_array_equal(again.X, first.X)
