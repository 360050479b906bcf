"""Visual inspection (thesis 2.6.1): run charts of real vs synthetic series, LF/HF panels, feature PCA.

Every function writes one PNG and returns its path. Figures are built with `matplotlib.figure.Figure`
directly, never through pyplot: no GUI backend is touched, nothing is switched globally, it runs headless.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from timevqvdm.evaluation.distribution import as_series

MAX_CHANNELS = 4  # run charts show at most this many channels, one row each


def plot_real_vs_synthetic(
    real: np.ndarray, synthetic: np.ndarray, path: str | Path, n: int = 256, *, seed: int = 0
) -> Path:
    """Run charts of up to ``n`` real and ``n`` synthetic series, overlaid, side by side (thesis Figs 17-24).

    Parameters
    ----------
    real, synthetic : np.ndarray, shape (n_series, C, L) or (n_series, L)
    path : str or Path
        Output PNG.
    n : int
        Series drawn (at random, with ``seed``) from each set.
    """
    panels = {"real": as_series(real), "synthetic": as_series(synthetic)}
    return _run_chart_grid({(0, k): v for k, v in panels.items()}, path, n, seed)


def plot_decomposition(
    real_lf: np.ndarray,
    real_hf: np.ndarray,
    syn_lf: np.ndarray,
    syn_hf: np.ndarray,
    path: str | Path,
    n: int = 64,
    *,
    seed: int = 0,
) -> Path:
    """Low/high-frequency decomposition: LF and HF run charts (rows) for real and synthetic (columns).

    Parameters
    ----------
    real_lf, real_hf, syn_lf, syn_hf : np.ndarray, shape (n_series, C, L) or (n_series, L)
        The two bands of each set, e.g. from `timevqvdm.frequency.split_frequencies`.
    path : str or Path
        Output PNG.
    n : int
        Series drawn from each set.
    """
    panels = {
        (0, "real LF"): as_series(real_lf),
        (0, "synthetic LF"): as_series(syn_lf),
        (1, "real HF"): as_series(real_hf),
        (1, "synthetic HF"): as_series(syn_hf),
    }
    return _run_chart_grid(panels, path, n, seed)


def _run_chart_grid(panels: dict[tuple[int, str], np.ndarray], path: str | Path, n: int, seed: int) -> Path:
    """Panels keyed by (row group, title); each panel spans one row per channel."""
    n_groups = 1 + max(group for group, _ in panels)
    n_cols = len(panels) // n_groups
    n_channels = min(MAX_CHANNELS, max(x.shape[1] for x in panels.values()))
    n_rows = n_groups * n_channels
    fig = Figure(figsize=(5 * n_cols, 2.5 * n_rows))
    axes = fig.subplots(n_rows, n_cols, squeeze=False, sharey="row")
    col_of_group: dict[int, int] = {}
    for (group, title), x in panels.items():
        col = col_of_group.get(group, 0)
        col_of_group[group] = col + 1
        shown = x[np.random.default_rng(seed).permutation(len(x))[:n]]
        for ch in range(min(n_channels, x.shape[1])):
            ax = axes[group * n_channels + ch, col]
            ax.plot(shown[:, ch, :].T, color="C0" if "real" in title else "C1", alpha=0.15, linewidth=0.6)
            ax.set_title(title if n_channels == 1 else f"{title}, channel {ch}", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def plot_feature_pca(real_feats: np.ndarray, syn_feats: np.ndarray, path: str | Path) -> Path:
    """Scatter of real and synthetic FCN features on the first two principal components of the real ones.

    Parameters
    ----------
    real_feats, syn_feats : np.ndarray, shape (n_real, d) and (n_syn, d)
    path : str or Path
        Output PNG.
    """
    real = np.asarray(real_feats, dtype=np.float64)
    real_2d, syn_2d = pca_2d(real, np.asarray(syn_feats, dtype=np.float64))
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    ax.scatter(real_2d[:, 0], real_2d[:, 1], s=6, alpha=0.5, label="real")
    ax.scatter(syn_2d[:, 0], syn_2d[:, 1], s=6, alpha=0.5, label="synthetic")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.legend()
    fig.tight_layout()
    return _save(fig, path)


def pca_2d(fit_on: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Project ``fit_on`` and ``others`` (each (n, d)) on the top two principal axes of ``fit_on``."""
    mean = fit_on.mean(axis=0)
    _, _, vt = np.linalg.svd(fit_on - mean, full_matrices=False)
    axes = vt[:2].T
    if axes.shape[1] < 2:  # a single feature or a single series: pad the missing axis with zeros
        axes = np.pad(axes, ((0, 0), (0, 2 - axes.shape[1])))
    return [(x - mean) @ axes for x in (fit_on, *others)]


def _save(fig: Figure, path: str | Path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100, format="png")
    return out


VALIDATION_PANELS = (
    ("val_loss", "held-out loss"),
    ("copy_share", "copy share"),
    ("val_fid", "FID to held-out part"),
)


def plot_validation_curves(
    history: dict, path: str | Path, *, copy_threshold: float | None = None, title: str = ""
) -> Path:
    """Validation-driven training at a glance: each network's held-out scores against its training step.

    One column per monitored network (stage 1, LF prior, HF prior), one row per score: the held-out loss
    (reconstruction for stage 1, denoising for the priors), the copy share and the FID to the held-out part
    of the priors' novelty checks. A solid line marks the step whose weights were kept, a dashed line where
    the run stopped.

    Parameters
    ----------
    history : dict
        ``TimeVQVDM.history``: ``{name: {"validation": [records], "stop": {...}}}`` per network.
    path : str or Path
        Output PNG.
    copy_threshold : float, optional
        Drawn as a horizontal line on the copy-share row when the records do not carry the limit the
        novelty check applied (``copy_limit``).
    """
    names = [name for name, entry in history.items() if isinstance(entry, dict) and entry.get("validation")]
    if not names:
        raise ValueError("no validation records: the model was trained without validation checks")
    fig = Figure(figsize=(4.2 * len(names), 7.5), layout="constrained")
    axes = fig.subplots(len(VALIDATION_PANELS), len(names), squeeze=False, sharex="col")
    for col, name in enumerate(names):
        records, stop = history[name]["validation"], history[name].get("stop") or {}
        steps = [r["step"] for r in records]
        for row, (key, label) in enumerate(VALIDATION_PANELS):
            ax = axes[row, col]
            values = [r.get(key) for r in records]
            if all(v is None for v in values):
                ax.set_visible(False)
                continue
            ax.plot(steps, values, marker="o", markersize=3)
            limit = records[-1].get("copy_limit", copy_threshold)
            if key == "copy_share" and limit is not None:
                ax.axhline(limit, color="grey", linewidth=0.8, linestyle=":")
            _mark_stop(ax, stop)
            ax.set_ylabel(label)
            if row == 0:
                ax.set_title(name)
        lowest = [ax for ax in axes[:, col] if ax.get_visible()][-1]
        lowest.set_xlabel("training step")
        lowest.tick_params(labelbottom=True)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def _mark_stop(ax, stop: dict) -> None:
    if stop.get("best_step") is not None:
        ax.axvline(stop["best_step"], color="tab:green", linewidth=1.0, label="kept")
    if stop.get("step") is not None:
        ax.axvline(stop["step"], color="tab:red", linewidth=1.0, linestyle="--", label="stopped")
