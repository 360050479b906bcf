"""Pinned numbers: a fixed tiny model and seed give the same samples across code changes.

The model in ``tests/fixtures/pinned_tiny_model`` was fitted and saved, and the values below recorded from
it, by the code before multichannel and variable-length support (issue 24, commit 1245fdc), with this
script's data: 16 noisy sines of two frequencies, ``TimeVQVDM(preset="tiny").fit(X, y)``. Full-length
univariate data must still load and sample exactly as it did then.

The pin starts from saved weights rather than from a fit: training on CPUs with different vector units
(or another build of the same torch) rounds differently and drifts the weights of even this tiny model,
so fitted weights cannot be pinned across machines, while one sampling pass from fixed weights can, to the
tolerance below.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from timevqvdm import TimeVQVDM

PINNED_MODEL = Path(__file__).parent / "fixtures" / "pinned_tiny_model"


@pytest.fixture(scope="module")
def pinned_model():
    return TimeVQVDM.load(PINNED_MODEL, device="cpu")


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
        [0.01883281208574772, -0.000803838949650526, 0.008924095891416073, 0.007756181992590427],
        [0.04332008212804794, -0.010628653690218925, -0.002513514831662178, 0.011195054277777672],
        [0.01695192977786064, 0.005913120694458485, -0.0064577944576740265, 0.0005787811242043972],
        [0.02000931277871132, 0.006813121028244495, 0.0068128653801977634, -0.00721906591206789],
    ]
)
PINNED_UNCOND = np.array(
    [
        [0.014585960656404495, 0.011017185635864735, 0.007662398740649223],
        [-0.0029701348394155502, -0.0258328877389431, -5.410145968198776e-05],
        [0.01003730297088623, 0.006433721166104078, 0.007817896082997322],
    ]
)
