"""Pinned numbers: a fixed tiny model and seed give the same samples across code changes.

Full-length univariate data must sample exactly as it did before multichannel and variable-length support
(issue 24): these values were recorded before that work and must not move.
"""

from __future__ import annotations

import numpy as np
import pytest

from timevqvdm import TimeVQVDM


@pytest.fixture(scope="module")
def pinned_model():
    rng = np.random.default_rng(7)
    t = np.linspace(0, 4 * np.pi, 48)
    y = np.repeat(["a", "b"], 8)
    freq = np.where(y == "a", 1.0, 2.0)[:, None]
    X = np.sin(freq * t + rng.uniform(0, 3, size=(16, 1))) + 0.1 * rng.normal(size=(16, 48))
    return TimeVQVDM(preset="tiny", progress=False, device="cpu").fit(X, y)


def test_full_length_univariate_samples_are_pinned(pinned_model):
    out = pinned_model.sample(4, labels="proportional", steps=3, seed=11)
    assert out.X.shape == (4, 1, 48) and out.mask is None
    np.testing.assert_array_equal(out.y, PINNED_Y)
    np.testing.assert_allclose(out.X[:, 0, ::12], PINNED_X, rtol=1e-4, atol=1e-6)


def test_full_length_unconditional_samples_are_pinned(pinned_model):
    out = pinned_model.sample(3, steps=2, seed=5, unconditional="class_prior")
    np.testing.assert_allclose(out.X[:, 0, 5::16], PINNED_UNCOND, rtol=1e-4, atol=1e-6)


PINNED_Y = np.array([0, 0, 1, 1])
PINNED_X = np.array(
    [
        [0.01885240152478218, -0.0008328752592206001, 0.008900871500372887, 0.007744099013507366],
        [0.04330822825431824, -0.010628491640090942, -0.0025179916992783546, 0.011174440383911133],
        [0.01695498451590538, 0.005920610390603542, -0.006434987299144268, 0.0005717845633625984],
        [0.020016569644212723, 0.0067922924645245075, 0.0068126702681183815, -0.00719117745757103],
    ]
)
PINNED_UNCOND = np.array(
    [
        [1.4914310537278652e-02, 1.1034903116524220e-02, 7.6621724292635918e-03],
        [-2.9780464246869087e-03, -2.5847960263490677e-02, -9.3396287411451340e-05],
        [1.0055806487798691e-02, 6.4375661313533783e-03, 7.8089376911520958e-03],
    ]
)
