"""Plots are written headless as valid PNG files."""

from __future__ import annotations

import pytest
from matplotlib.image import imread

from timevqvdm.evaluation import plot_decomposition, plot_feature_pca, plot_real_vs_synthetic

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _assert_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 1000
    assert imread(path).ndim == 3


@pytest.mark.parametrize("channels", [1, 2])
def test_run_charts_and_decomposition_are_pngs(tmp_path, rng, channels):
    real, syn = rng.normal(size=(30, channels, 40)), rng.normal(size=(20, channels, 40))
    _assert_png(plot_real_vs_synthetic(real, syn, tmp_path / "runs.png", n=10))
    _assert_png(plot_decomposition(real, real, syn, syn, tmp_path / "sub" / "lfhf.png"))


def test_feature_pca_is_a_png(tmp_path, rng):
    _assert_png(
        plot_feature_pca(rng.normal(size=(40, 128)), rng.normal(size=(30, 128)), tmp_path / "pca.png")
    )
