"""Evaluation of generated time series: FCN features, FID / IS / CAS, memorisation, distribution checks, plots."""

from timevqvdm.evaluation.distribution import (
    autocorrelation_distance,
    discriminative_score,
    power_spectrum_distance,
)
from timevqvdm.evaluation.fcn import FCN, FCNConfig, fcn_outputs, get_fcn, train_fcn
from timevqvdm.evaluation.memorisation import memorisation, nearest_distances
from timevqvdm.evaluation.metrics import classification_accuracy, fid, inception_score
from timevqvdm.evaluation.plots import (
    plot_decomposition,
    plot_feature_pca,
    plot_real_vs_synthetic,
    plot_validation_curves,
)
from timevqvdm.evaluation.protocol import evaluate, noise_floor, stft_round_trip
from timevqvdm.evaluation.published import published_results

__all__ = [
    "FCN",
    "FCNConfig",
    "autocorrelation_distance",
    "classification_accuracy",
    "discriminative_score",
    "evaluate",
    "fcn_outputs",
    "fid",
    "get_fcn",
    "inception_score",
    "memorisation",
    "nearest_distances",
    "noise_floor",
    "plot_decomposition",
    "plot_feature_pca",
    "plot_real_vs_synthetic",
    "plot_validation_curves",
    "power_spectrum_distance",
    "published_results",
    "stft_round_trip",
    "train_fcn",
]
