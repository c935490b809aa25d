"""Plots of fit results with matplotlib: profile scans, pulls and impacts, loss curves.

The surrogate closure plot (the nominal sample reweighted by a surrogate against a varied
sample, per feature, with a ratio panel) is :func:`bpt.validation.plot_closure`, available
here too.
"""
import numpy as np
from scipy.stats import chi2

from ..validation import plot_closure

__all__ = ["plot_closure", "plot_impacts", "plot_loss_curves", "plot_scan"]


def _axes(ax, **figure):
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(**figure)
    return ax


def plot_scan(scans, ax=None, labels=None, levels=(0.68, 0.95)):
    """Profile scan(s) q(parameter) with the 68% and 95% lines and intervals.

    Parameters
    ----------
    scans : ScanResult or list of ScanResult
    ax : matplotlib Axes, optional
    labels : list of str, optional
    levels : confidence levels drawn as horizontal lines (chi2 quantiles, one d.o.f.).

    Returns
    -------
    matplotlib Axes
    """
    scans = [scans] if not isinstance(scans, (list, tuple)) else list(scans)
    labels = labels or [None] * len(scans)
    ax = _axes(ax, figsize=(5, 4))
    for scan, label in zip(scans, labels):
        order = np.argsort(scan.grid)
        line, = ax.plot(scan.grid[order], scan.q[order], marker=".", label=label)
        for cl in levels:
            low, high = scan.interval(cl)
            for end in (low, high):
                if np.isfinite(end):
                    ax.axvline(end, color=line.get_color(), lw=0.6, ls=":")
    for cl, style in zip(levels, ("--", "-.")):
        ax.axhline(chi2.ppf(cl, 1), color="gray", lw=0.8, ls=style,
                   label=f"{cl:.0%} CL")
    ax.set_xlabel(scans[0].parameter)
    ax.set_ylabel("q = -2 Δ ln L")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False)
    return ax


def plot_impacts(result, top=None, axes=None):
    """Pulls with post-fit constraints (left) and pre-/post-fit impacts on the POI (right),
    nuisances ranked by post-fit impact.

    Parameters
    ----------
    result : ImpactsResult
    top : int, optional
        Show only the ``top`` largest impacts.
    axes : pair of matplotlib Axes, optional

    Returns
    -------
    the pair of Axes
    """
    import matplotlib.pyplot as plt
    order = [result.names.index(n) for n in result.ranking()][:top]
    n = len(order)
    if axes is None:
        figure, axes = plt.subplots(1, 2, sharey=True, figsize=(8, 0.4 * n + 1.5),
                                    layout="constrained")
    left, right = axes
    y = np.arange(n)[::-1]
    left.errorbar(result.pulls[order], y, xerr=result.constraints[order], fmt="o", color="k")
    left.axvspan(-1, 1, color="0.9")
    left.axvline(0, color="gray", lw=0.8)
    left.set_yticks(y, [result.names[i] for i in order])
    left.set_xlabel("pull (θ̂ - θ₀) / Δθ")
    # Columns of the impacts: the nuisance held down (red) or up (blue).
    for column, color in ((1, "C0"), (0, "C3")):
        right.barh(y, result.prefit[order, column], height=0.6, fill=False, edgecolor=color)
        right.barh(y, result.postfit[order, column], height=0.6, color=color, alpha=0.8)
    right.axvline(0, color="gray", lw=0.8)
    right.set_xlabel(f"Δ{result.poi} (open: pre-fit, filled: post-fit)")
    return axes


def plot_loss_curves(estimator, ax=None):
    """Training and validation loss of a fitted BoostedParametricTree or
    BoostedInformationTree against the number of trees."""
    ax = _axes(ax, figsize=(5, 4))
    if estimator.train_loss_.size == 0:
        raise ValueError("the estimator recorded no loss curve; fit it with early stopping or "
                         "verbose output")
    ax.plot(np.arange(estimator.train_loss_.size), estimator.train_loss_, label="training")
    if estimator.validation_loss_.size:
        ax.plot(np.arange(estimator.validation_loss_.size), estimator.validation_loss_,
                label="validation")
        ax.axvline(estimator.n_iter_, color="gray", lw=0.8, ls=":", label="kept trees")
    ax.set_xlabel("trees")
    ax.set_ylabel("loss per unit weight")
    ax.legend(frameon=False)
    return ax
