"""Evaluation of generated time series: FCN features, FID / IS / CAS, memorisation, distribution checks, plots,
and the field's discriminative / predictive / correlational / context-FID scores."""

from timevqvdm.evaluation.distribution import (
    autocorrelation_distance,
    discriminative_score,
    power_spectrum_distance,
)
from timevqvdm.evaluation.fcn import FCN, FCNConfig, fcn_outputs, get_fcn, train_fcn
from timevqvdm.evaluation.field import (
    FIELD_METRICS,
    FieldConfig,
    context_fid,
    correlational_score,
    cross_correlation,
    field_metrics,
    minmax_scale,
    published_units,
)
from timevqvdm.evaluation.gru_scores import gru_discriminative_score, predictive_score
from timevqvdm.evaluation.lengths import ks_two_sample, length_check, wasserstein_1, zero_padding
from timevqvdm.evaluation.memorisation import honest_copy_share, memorisation, nearest_distances
from timevqvdm.evaluation.metrics import classification_accuracy, fid, inception_score
from timevqvdm.evaluation.plots import (
    plot_decomposition,
    plot_feature_pca,
    plot_real_vs_synthetic,
    plot_validation_curves,
)
from timevqvdm.evaluation.protocol import evaluate, noise_floor, stft_round_trip
from timevqvdm.evaluation.published import published_field, published_results
from timevqvdm.evaluation.ts2vec import TS2VecConfig, TS2VecEncoder, train_ts2vec, ts2vec_features

__all__ = [
    "FCN",
    "FIELD_METRICS",
    "FCNConfig",
    "FieldConfig",
    "TS2VecConfig",
    "TS2VecEncoder",
    "autocorrelation_distance",
    "classification_accuracy",
    "context_fid",
    "correlational_score",
    "cross_correlation",
    "discriminative_score",
    "evaluate",
    "fcn_outputs",
    "fid",
    "field_metrics",
    "get_fcn",
    "gru_discriminative_score",
    "honest_copy_share",
    "inception_score",
    "ks_two_sample",
    "length_check",
    "memorisation",
    "minmax_scale",
    "nearest_distances",
    "noise_floor",
    "plot_decomposition",
    "plot_feature_pca",
    "plot_real_vs_synthetic",
    "plot_validation_curves",
    "power_spectrum_distance",
    "predictive_score",
    "published_field",
    "published_results",
    "published_units",
    "stft_round_trip",
    "train_fcn",
    "train_ts2vec",
    "ts2vec_features",
    "wasserstein_1",
    "zero_padding",
]
