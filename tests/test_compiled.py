"""timevqvdm.compiled: networks a compiler takes whole, compiled == eager, and the eager fallback.

Tests marked `compile` run the compiler: `torch._dynamo.explain` traces (seconds), one test compiles with
inductor (a tiny U-Net; tens of seconds on a busy 2-core machine). The others stand a recording fake in for
`torch.compile`, so they check the wiring and the fallback in milliseconds.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch

from timevqvdm import TimeVQVDM, compiled
from timevqvdm.compiled import compiled_forward, compiler_available, compiling, networks_of
from timevqvdm.config import SamplingConfig, get_preset
from timevqvdm.prior import UNet1D, build_prior
from timevqvdm.prior import latent_prior as latent_prior_module
from timevqvdm.prior.slicing import forward_in_slices
from timevqvdm.tokenizer import build_tokenizer

needs_compiler = pytest.mark.skipif(not compiler_available(), reason="torch.compile is unsupported here")


def tiny_unet(cond_channels: int = 0) -> UNet1D:
    torch.manual_seed(0)
    return UNet1D(
        in_channels=4, channels=(8, 16), n_classes=2, cond_channels=cond_channels, emb_dim=8, groups=4,
        attn_heads=2, attn_head_dim=4,
    )  # fmt: skip


def unet_inputs(batch: int = 6, width: int = 12, cond_channels: int = 0, shared_time: bool = True):
    g = torch.Generator().manual_seed(0)
    z = torch.randn(batch, 4, width, generator=g)
    t = torch.full((1,), 0.3) if shared_time else torch.rand(batch, generator=g)
    y = torch.randint(0, 3, (batch,), generator=g)
    cond = torch.randn(batch, cond_channels, 5, generator=g) if cond_channels else None
    return z, t, y, cond


def frozen(module: torch.nn.Module) -> torch.nn.Module:
    """As a trained model samples: eval mode, no parameter requires gradients."""
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


@pytest.fixture(autouse=True)
def fresh_compiler_state():
    if compiler_available():
        torch._dynamo.reset()
    yield


class RecordingCompile:
    """A stand-in for `torch.compile`: records what it is asked to compile and returns it unchanged."""

    def __init__(self) -> None:
        self.compiled: list[str] = []
        self.modes: list[str | None] = []
        self.dynamic: list[bool | None] = []
        self.freezing: list[bool] = []

    def __call__(self, fn, **kwargs):
        self.compiled.append(fn.__qualname__)
        self.modes.append(kwargs.get("mode"))
        self.dynamic.append(kwargs.get("dynamic"))
        self.freezing.append(torch._inductor.config.freezing)
        return fn


@pytest.fixture
def recording(monkeypatch) -> RecordingCompile:
    fake = RecordingCompile()
    monkeypatch.setattr(torch, "compile", fake)
    monkeypatch.setattr(compiled, "compiler_available", lambda: True)
    return fake


# ------------------------------------------------------------------------------------------ whole graphs
@pytest.mark.compile
@needs_compiler
@pytest.mark.parametrize(
    ("mode", "cond_channels"),
    [("sampling", 0), ("sampling", 3), ("training", 0), ("training", 3), ("validation", 3)],
)
def test_unet_forward_is_one_graph(mode: str, cond_channels: int) -> None:
    """No graph break in a sampling step (frozen weights, one shared time), a training step or a validation
    pass (one time per series, no gradients)."""
    net = tiny_unet(cond_channels)
    net = frozen(net) if mode == "sampling" else net.train(mode == "training")
    z, t, y, cond = unet_inputs(cond_channels=cond_channels, shared_time=mode == "sampling")
    with torch.set_grad_enabled(mode == "training"):
        explanation = torch._dynamo.explain(net)(z, t, y, cond)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    assert explanation.graph_count == 1


@pytest.mark.compile
@needs_compiler
@pytest.mark.parametrize("training", [True, False])
def test_tokenizer_networks_are_one_graph_each(training: bool) -> None:
    cfg = get_preset("tiny")
    tokenizer = build_tokenizer(48, 1, cfg.frequency, cfg.tokenizer).train(training)
    spectrograms = tokenizer.split(torch.randn(4, 1, 48))
    for band in ("lf", "hf"):
        vqvae = tokenizer.bands[band]
        for network, x in (
            (vqvae.encoder, spectrograms[f"u_{band}"]),
            (vqvae.decoder, torch.randn(4, *vqvae.latent_shape)),
        ):
            torch._dynamo.reset()
            with torch.set_grad_enabled(training):
                explanation = torch._dynamo.explain(network)(x)
            assert explanation.graph_break_count == 0, (band, type(network).__name__)
            assert explanation.graph_count == 1


# ------------------------------------------------------------------------------------- compiled == eager
@pytest.mark.compile
@needs_compiler
@pytest.mark.parametrize("frozen_weights", [False, True])
def test_compiled_sampling_forward_agrees_with_eager(frozen_weights: bool) -> None:
    """Inductor against eager on a tiny HF-like U-Net over the sampler's slices (one graph: equal slices,
    one shared time), unfrozen and frozen (the weights folded in, as sampling compiles); a frozen graph
    follows a change of the weights.

    Tolerance 1e-4, absolute and relative, on outputs of order 1: fused kernels reorder float32 sums
    (convolutions, GroupNorm and attention reductions), which moves each result by a few units of float32's
    1.2e-7 per operation, a few dozen operations deep; a wrong graph (a missing modulation, a stale kernel,
    stale folded weights, a mixed-up slice) moves outputs by far more.
    """
    net = frozen(tiny_unet(cond_channels=3))
    z, _, y, cond = unet_inputs(batch=7, cond_channels=3)
    t = torch.full((7,), 0.3)

    def eager_and_compiled():
        with torch.no_grad():
            eager = forward_in_slices(net, z, t, y, cond, max_batch=4)  # slices of 4 and 3, padded to 4
            with compiling([net], frozen=frozen_weights):
                return eager, forward_in_slices(net, z, t, y, cond, max_batch=4)

    eager, compiled_out = eager_and_compiled()
    forward = compiled_forward(net, frozen=frozen_weights)
    assert forward.compiled is not None and not forward.failed
    torch.testing.assert_close(compiled_out, eager, rtol=1e-4, atol=1e-4)
    if frozen_weights:
        with torch.no_grad():
            net.down[0].res1.block1.conv.weight.mul_(-1.0)  # in place: the same tensor, new values
        new_eager, new_compiled = eager_and_compiled()
        assert not torch.allclose(new_eager, eager, atol=1e-2)
        torch.testing.assert_close(new_compiled, new_eager, rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------------------------------- the wiring
def test_compiling_routes_calls_inside_the_block_only(recording) -> None:
    net = frozen(tiny_unet())
    keys = list(net.state_dict())
    z, t, y, _ = unet_inputs()
    with torch.no_grad():
        eager = net(z, t, y)
        with compiling([net]):
            inside = net(z, t, y)
            with compiling([net], enabled=False):
                net(z, t, y)  # an inner block may ask for eager
            net(z, t, y)
        net(z, t, y)
    assert recording.compiled == ["UNet1D.forward"]  # once, kept for the later blocks
    torch.testing.assert_close(inside, eager, rtol=0, atol=0)
    assert "forward" not in net.__dict__  # back to the class's forward
    assert list(net.state_dict()) == keys  # saved models are unaffected


def test_a_named_mode_reaches_the_compiler_and_is_kept_apart_from_the_default(recording) -> None:
    net = frozen(tiny_unet())
    z, t, y, _ = unet_inputs()
    with torch.no_grad():
        with compiling([net], enabled="reduce-overhead"):
            net(z, t, y)
        with compiling([net]):
            net(z, t, y)
        with compiling([net], enabled="reduce-overhead"):
            net(z, t, y)
    assert recording.modes == ["reduce-overhead", "default"]  # one compiled forward per mode, kept
    with pytest.raises(ValueError, match="compile mode"), compiling([net], enabled="fastest"):
        pass
    assert SamplingConfig(compile="reduce-overhead").compile == "reduce-overhead"
    with pytest.raises(ValueError, match="compile"):
        SamplingConfig(compile="fastest")


def test_a_frozen_forward_folds_the_weights_and_compiles_again_after_they_change(recording) -> None:
    """Frozen: compiled in the mode asked for with inductor's freezing on (and off again after the block), a
    forward of its own beside the unfrozen one; the same weights reuse it, an in-place change or
    `load_state_dict` compiles afresh rather than run on stale folded constants."""
    net = frozen(tiny_unet())
    z, t, y, _ = unet_inputs()
    with torch.no_grad():
        with compiling([net], frozen=True):
            net(z, t, y)
            net(z, t, y)  # unchanged weights: the same graph
        assert not torch._inductor.config.freezing
        assert recording.freezing == [True] and recording.modes == ["default"]
        with compiling([net], enabled="reduce-overhead", frozen=True):
            net(z, t, y)
        assert recording.freezing[-1] and recording.modes[-1] == "reduce-overhead"
        with compiling([net]):
            net(z, t, y)  # unfrozen: a forward of its own
        assert not recording.freezing[-1] and recording.modes[-1] == "default"
        assert len(recording.compiled) == 3
        net.output_conv.bias.add_(1.0)
        with compiling([net], frozen=True):
            net(z, t, y)
        assert len(recording.compiled) == 4
        net.load_state_dict(tiny_unet().state_dict())
        with compiling([net], frozen=True):
            net(z, t, y)
            net(z, t, y)
    assert len(recording.compiled) == 5


def test_prior_sampling_compiles_frozen_and_runs_the_slices_one_after_another(recording, monkeypatch) -> None:
    """`LatentPrior.sample(compile=True)`: the U-Net compiled with freezing on, its slices run one after
    another (each compiled kernel uses every core); eager, one slice per core."""
    paths, original = [], latent_prior_module.sliced_forward

    def spy(network, width, device, compiled=False):
        paths.append(compiled)
        return original(network, width, device, compiled)

    monkeypatch.setattr(latent_prior_module, "sliced_forward", spy)
    cfg = get_preset("tiny").prior
    prior = build_prior(latent_channels=4, latent_width=9, n_classes=2, cond_channels=0, cfg=cfg, band="lf")
    frozen(prior.network)
    kwargs = {"steps": 2, "guidance": 1.0, "rescale": 0.0, "t_max": 0.99}
    prior.sample(3, generator=torch.Generator().manual_seed(0), **kwargs)
    prior.sample(3, generator=torch.Generator().manual_seed(0), compile=True, **kwargs)
    assert paths == [False, True]
    assert recording.compiled == ["UNet1D.forward"] and recording.freezing == [True]


def test_every_compiled_forward_is_for_static_shapes(recording) -> None:
    """A network meets a few batch sizes (sampling slices, training batches): a graph each. A graph made
    general over the sizes failed in inductor's lowering of the HF prior's training step, and the network
    fell back to eager (benchmarks/compile_speed.py on GunPoint's `tiny` and `best` priors)."""
    net = frozen(tiny_unet())
    z, t, y, _ = unet_inputs()
    with torch.no_grad():
        for mode in ("default", "reduce-overhead"):
            with compiling([net], enabled=mode):
                net(z, t, y)
    assert recording.dynamic == [False, False]


def test_each_network_gets_a_code_object_of_its_own(monkeypatch) -> None:
    """So the LF and HF nets' graphs and recompile limits are not shared (see `_own_code`)."""
    codes = []
    monkeypatch.setattr(torch, "compile", lambda fn, **kwargs: codes.append(fn.__func__.__code__) or fn)
    monkeypatch.setattr(compiled, "compiler_available", lambda: True)
    first, second = frozen(tiny_unet()), frozen(tiny_unet())
    z, t, y, _ = unet_inputs()
    with torch.no_grad(), compiling([first, second]):
        first(z, t, y)
        second(z, t, y)
    assert len(codes) == 2 and codes[0] is not codes[1]
    assert codes[0] is not UNet1D.forward.__code__


def test_a_copy_of_a_compiled_network_runs_its_own_weights(recording) -> None:
    net = frozen(tiny_unet())
    z, t, y, _ = unet_inputs()
    with torch.no_grad(), compiling([net]):
        net(z, t, y)
        twin = copy.deepcopy(net)
        twin.output_conv.bias.add_(1.0)
        assert torch.allclose(twin(z, t, y), net(z, t, y) + 1.0)


def test_a_copy_of_a_frozen_compiled_network_stays_compiled(recording) -> None:
    """The copy's compiled forward is made mid-copy, before the copy has parameters: it must not read them
    there (it once did, failed, and fell back to eager with a warning)."""
    net = frozen(tiny_unet())
    z, t, y, _ = unet_inputs()
    with torch.no_grad(), compiling([net], frozen=True):
        net(z, t, y)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            twin = copy.deepcopy(net)
            twin.output_conv.bias.add_(1.0)
            out = twin(z, t, y)
        assert torch.allclose(out, net(z, t, y) + 1.0)
    assert not compiled_forward(twin, frozen=True).failed
    assert recording.compiled.count("UNet1D.forward") == 2  # the original's and the copy's


def test_networks_are_what_each_stage_names() -> None:
    cfg = get_preset("tiny")
    tokenizer = build_tokenizer(48, 1, cfg.frequency, cfg.tokenizer)
    assert [type(n).__name__ for n in networks_of(tokenizer)] == ["Encoder", "Decoder"] * 2
    plain = torch.nn.Linear(2, 2)
    assert networks_of(plain) == [plain]


# ------------------------------------------------------------------------------------------ the fallback
def test_a_failing_compiler_falls_back_to_eager_with_one_warning(monkeypatch) -> None:
    """As without a C compiler: the first compiled call fails; the result is the eager one, a warning says
    so once, and the compiler is not tried again."""
    attempts = []

    def broken_compile(fn, **kwargs):
        def run(*args, **kw):
            attempts.append(fn.__qualname__)
            raise RuntimeError("InvalidCxxCompiler: No working C compiler found in cpp_extension")

        return run

    monkeypatch.setattr(torch, "compile", broken_compile)
    monkeypatch.setattr(compiled, "compiler_available", lambda: True)
    net = frozen(tiny_unet())
    z, t, y, _ = unet_inputs()
    with torch.no_grad():
        eager = net(z, t, y)
        with pytest.warns(RuntimeWarning, match="run eager"), compiling([net]):
            out = net(z, t, y)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with compiling([net]):
                again = net(z, t, y)
    assert attempts == ["UNet1D.forward"]
    torch.testing.assert_close(out, eager, rtol=0, atol=0)
    torch.testing.assert_close(again, eager, rtol=0, atol=0)


def test_a_compiler_that_raises_at_once_falls_back_to_eager(monkeypatch) -> None:
    """As on a Python version the compiler does not support: `torch.compile` itself raises."""

    def raising_compile(fn, **kwargs):
        raise RuntimeError("Dynamo is not supported on Python 3.99+")

    monkeypatch.setattr(torch, "compile", raising_compile)
    monkeypatch.setattr(compiled, "compiler_available", lambda: True)
    net = frozen(tiny_unet())
    z, t, y, _ = unet_inputs()
    with torch.no_grad():
        eager = net(z, t, y)
        with pytest.warns(RuntimeWarning, match="torch.compile failed .*run eager"), compiling([net]):
            out = net(z, t, y)
    assert compiled_forward(net).failed
    torch.testing.assert_close(out, eager, rtol=0, atol=0)


def test_an_unsupported_platform_runs_eager(monkeypatch) -> None:
    monkeypatch.setattr(compiled, "compiler_available", lambda: False)
    monkeypatch.setattr(torch, "compile", lambda *a, **k: pytest.fail("torch.compile must not be called"))
    net = frozen(tiny_unet())
    z, t, y, _ = unet_inputs()
    with torch.no_grad():
        eager = net(z, t, y)
        with pytest.warns(RuntimeWarning, match="not supported"), compiling([net]):
            out = net(z, t, y)
    torch.testing.assert_close(out, eager, rtol=0, atol=0)


def test_the_callers_errors_pass_through_and_keep_compilation(recording) -> None:
    net = frozen(tiny_unet())
    z, t, y, _ = unet_inputs()
    with torch.no_grad(), compiling([net]), pytest.raises(ValueError, match="too short"):
        net(z[..., :2], t, y)
    assert not compiled_forward(net).failed


# ------------------------------------------------------------------------------- configuration and model
@pytest.mark.slow
def test_compile_flags_reach_every_network_and_change_no_sample(recording) -> None:
    """`TrainConfig.compile` routes both stages' networks, `SamplingConfig.compile` the U-Nets; with an
    identity "compiler" the samples are those of eager sampling, bit for bit."""
    rng = np.random.default_rng(0)
    X = np.sin(np.linspace(0, 6, 48) + rng.uniform(0, 3, (12, 1))) + 0.1 * rng.normal(size=(12, 48))
    y = np.repeat([0, 1], 6)
    config = get_preset("tiny")
    config.stage1.compile = config.stage2.compile = True
    model = TimeVQVDM(config=config, progress=False, device="cpu").fit(X, y)
    assert sorted(set(recording.compiled)) == ["Decoder.forward", "Encoder.forward", "UNet1D.forward"]
    recording.compiled.clear()
    eager = model.sample(5, labels="proportional", steps=2, seed=3).X
    assert recording.compiled == []
    assert np.array_equal(model.sample(5, labels="proportional", steps=2, seed=3, compile=True).X, eager)
    # Sampling compiles each U-Net once more, frozen (the weights folded in), and reuses that after.
    assert recording.compiled == ["UNet1D.forward"] * 2
    assert recording.freezing == [False] * (len(recording.freezing) - 2) + [True] * 2
    model.sample(5, labels="proportional", steps=2, seed=3, compile=True)
    assert len(recording.compiled) == 2
    assert all("forward" not in net.__dict__ for net in (model.prior_lf.network, model.prior_hf.network))
