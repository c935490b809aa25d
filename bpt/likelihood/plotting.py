"""Plots of fit results with matplotlib: profile scans, pulls and impacts, data versus
model per region (pre- and post-fit), loss curves. Each returns its matplotlib Figure.

The surrogate closure plot (the nominal sample reweighted by a surrogate against a varied
sample, per feature, with a ratio panel) is :func:`bpt.validation.plot_closure`, available
here too.
"""
import numpy as np
from scipy.stats import chi2

from .inference import FitResult

from .._plotting import figure_and_axes, hat, parameter_label, use_style
from ..validation import plot_closure

__all__ = ["plot_closure", "plot_data_model", "plot_impacts", "plot_loss_curves", "plot_scan",
           "use_style"]


def plot_scan(scans, ax=None, labels=None, levels=(0.68, 0.95), units=None):
    """Profile scan(s) q(parameter) with the best fit, the intervals and the CL lines.

    Parameters
    ----------
    scans : ScanResult or list of ScanResult
    ax : matplotlib Axes, optional
    labels : list of str, optional
        Legend entry per scan.
    levels : confidence levels drawn as horizontal lines (chi2 quantiles, one d.o.f.).
    units : str, optional
        Units of the parameter, for the axis label.

    Returns
    -------
    matplotlib Figure
        The first scan's best fit is marked and its ``levels[0]`` interval shaded and
        written in the legend as ``μ̂ = value +up -down``.
    """
    scans = [scans] if not isinstance(scans, (list, tuple)) else list(scans)
    labels = labels or [None] * len(scans)
    fig, ax = figure_and_axes(ax, figsize=(5.5, 4))
    name = scans[0].parameter
    for k, (scan, label) in enumerate(zip(scans, labels)):
        order = np.argsort(scan.grid)
        line, = ax.plot(scan.grid[order], scan.q[order], marker=".", label=label)
        best = scan.best[name]
        low, high = scan.interval(levels[0])
        if k == 0:
            text = f"{hat(name)} = {best:.3f}" + (
                f"$^{{+{high - best:.3f}}}_{{-{best - low:.3f}}}$"
                if np.isfinite(low) and np.isfinite(high) else "")
            ax.axvline(best, color=line.get_color(), lw=1.0, ls="--", label=text)
            if np.isfinite(low) and np.isfinite(high):
                ax.axvspan(low, high, color=line.get_color(), alpha=0.12,
                           label=f"{levels[0]:.0%} CL interval")
        for cl in levels:
            for end in scan.interval(cl):
                if np.isfinite(end):
                    ax.axvline(end, color=line.get_color(), lw=0.6, ls=":")
    for cl, style in zip(levels, ("--", "-.")):
        ax.axhline(chi2.ppf(cl, 1), color="gray", lw=0.8, ls=style, label=f"{cl:.0%} CL")
    ax.set_xlabel(parameter_label(name) + (f" [{units}]" if units else ""))
    ax.set_ylabel(r"$q = -2\,\Delta\ln L$")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, fontsize="small")
    return fig


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
    matplotlib Figure
        ``fig.axes[:2]`` are the pull and impact panels; the legend tells the +1σ and -1σ
        colours and pre-fit (open) from post-fit (filled) bars.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    order = [result.names.index(n) for n in result.ranking()][:top]
    n = len(order)
    if axes is None:
        fig, axes = plt.subplots(1, 2, sharey=True, figsize=(8, 0.45 * n + 2.2),
                                 layout="constrained")
    else:
        fig = axes[0].figure
    left, right = axes
    y = np.arange(n)[::-1]
    left.errorbar(result.pulls[order], y, xerr=result.constraints[order], fmt="o", color="k")
    left.axvspan(-1, 1, color="0.9")
    left.axvline(0, color="gray", lw=0.8)
    left.set_yticks(y, [parameter_label(result.names[i]) for i in order], fontsize="small")
    left.set_ylim(-0.7, n - 0.3)
    left.set_xlabel(r"pull $(\hat\theta - \theta_0)/\Delta\theta$")
    # Columns of the impacts: the nuisance moved down (0, red) or up (1, blue).
    # Side by side, so that impacts of the same sign do not hide each other.
    for column, color, offset in ((1, "C0", 0.16), (0, "C3", -0.16)):
        right.barh(y + offset, result.prefit[order, column], height=0.3, fill=False,
                   edgecolor=color)
        right.barh(y + offset, result.postfit[order, column], height=0.3, color=color,
                   alpha=0.8)
    right.axvline(0, color="gray", lw=0.8)
    right.set_xlabel(f"impact $\\Delta${parameter_label(result.poi)}")
    right.legend(handles=[Patch(color="C0", alpha=0.8, label=r"$+1\sigma$ post-fit"),
                          Patch(color="C3", alpha=0.8, label=r"$-1\sigma$ post-fit"),
                          Patch(fill=False, edgecolor="0.3", label="pre-fit")],
                 fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return fig


def plot_loss_curves(estimator, ax=None):
    """Training and validation loss of a fitted BoostedParametricTree or
    BoostedInformationTree against the number of trees."""
    fig, ax = figure_and_axes(ax, figsize=(5, 4))
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
    return fig


def plot_data_model(model, data, region, values=None, *, prefit=True, feature=0, bins=20,
                    edges=None, process_labels=None, xlabel=None, units=None, ax=None):
    """Stacked expected yields per process against the data, with a data/model ratio panel.

    Parameters
    ----------
    model : Model
    data : Dataset
        From :meth:`Model.data`, :meth:`Model.asimov` or :meth:`Model.toy`.
    region : str
        The region to draw.
    values : dict, array or FitResult, optional
        Parameter values of the stacked model (a fit result: post-fit); default the nominal
        values (pre-fit).
    prefit : bool, default=True
        Also draw the total expected at the nominal values (dashed) when ``values`` is given.
    feature : int or str, default=0
        For an unbinned region: the feature histogrammed (its index, or its name when the
        processes' events came from a DataFrame with those column names).
    bins : int or array-like, default=20
        Histogram bins of an unbinned region's feature (count or edges).
    edges : array-like, optional
        Bin edges of a binned region (default: the bin indices).
    process_labels : dict, optional
        Process name -> legend label.
    xlabel, units : str, optional
        Axis label of the feature and its units.
    ax : matplotlib Axes, optional
        The main panel; the ratio panel is added below it.

    Returns
    -------
    matplotlib Figure
        ``fig.axes[0]`` the stacked yields, ``fig.axes[1]`` the ratio data / model.
    """
    import matplotlib.pyplot as plt
    from .regions import BinnedRegion

    if isinstance(values, FitResult):
        values = values.vector
    post = model.parameters.vector(values)
    nominal = model.parameters.vector(None)
    chosen = model.region(region)
    reference = model.reference[chosen.name]
    names = [p.name for p in chosen.processes]
    labels = [(process_labels or {}).get(n, n) for n in names]
    entry = data.regions[chosen.name]

    def expected(vector):
        return reference.yield_weights[:, None] * reference.process_ratios(vector)

    if isinstance(chosen, BinnedRegion):
        edges = np.arange(chosen.n_bins + 1) - 0.5 if edges is None else np.asarray(edges,
                                                                                   float)
        if edges.shape != (chosen.n_bins + 1,):
            raise ValueError(f"edges must have {chosen.n_bins + 1} entries for region "
                             f"{region!r}, got {edges.shape}")
        stack = expected(post).T
        total_prefit = expected(nominal).sum(axis=1)
        counts = np.asarray(entry[-1], dtype=float)
        xlabel = xlabel or "bin"
    else:
        column = _feature_column(chosen, feature)
        x_reference = np.concatenate([p.X[:, column] for p in chosen.processes])
        if entry[0] == "reference":
            x_data, weights_data = x_reference, np.asarray(entry[1], dtype=float)
        else:
            x_data, weights_data = entry[1].observed_X[:, column], np.asarray(entry[2], float)
        edges = np.histogram_bin_edges(np.concatenate([x_reference, x_data]), bins)
        post_weights, pre_weights = expected(post), expected(nominal).sum(axis=1)
        stack = np.array([np.histogram(x_reference, edges, weights=post_weights[:, p])[0]
                          for p in range(len(names))])
        total_prefit = np.histogram(x_reference, edges, weights=pre_weights)[0]
        counts = np.histogram(x_data, edges, weights=weights_data)[0]
        if xlabel is None:
            xlabel = str(feature) if isinstance(feature, str) else f"feature {column}"
    if ax is None:
        fig, (ax, ratio_ax) = plt.subplots(2, 1, sharex=True, figsize=(6, 5.5),
                                           height_ratios=(3, 1), layout="constrained")
    else:
        fig = ax.figure
        ratio_ax = ax.inset_axes([0.0, -0.35, 1.0, 0.3], sharex=ax)
    bottom = np.zeros(len(edges) - 1)
    for p, label in enumerate(labels):
        ax.stairs(bottom + stack[p], edges, baseline=bottom, fill=True, alpha=0.8,
                  color=f"C{p}", label=label)
        bottom = bottom + stack[p]
    total = bottom
    centers = 0.5 * (edges[1:] + edges[:-1])
    fitted = values is not None
    if fitted and prefit:
        ax.stairs(total_prefit, edges, baseline=None, color="k", ls="--", lw=1.0,
                  label="pre-fit total")
    ax.errorbar(centers, counts, yerr=np.sqrt(np.maximum(counts, 0)), fmt="o", color="k",
                ms=4, label="data")
    ax.set_ylabel("events / bin")
    ax.set_title(f"{chosen.name} ({'post-fit' if fitted else 'pre-fit'})", fontsize="small")
    ax.legend(fontsize="small", frameon=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = counts / total
        error = np.sqrt(np.maximum(counts, 0)) / total
        prefit_ratio = total_prefit / total
    ratio_ax.axhline(1.0, color="gray", lw=0.8)
    if fitted and prefit:
        ratio_ax.stairs(prefit_ratio, edges, baseline=None, color="k", ls="--", lw=1.0,
                        label="pre-fit / post-fit")
    ratio_ax.errorbar(centers, ratio, yerr=error, fmt="o", color="k", ms=4)
    ratio_ax.set_ylabel("data / model", fontsize="small")
    ratio_ax.set_xlabel(xlabel + (f" [{units}]" if units else ""))
    return fig


def _feature_column(region, feature):
    if isinstance(feature, str):
        names = getattr(region.processes[0], "feature_names", None)
        if names is None or feature not in names:
            raise ValueError(f"region {region.name!r}: no feature named {feature!r}; give "
                             f"its index (0..{region.n_features - 1})")
        return list(names).index(feature)
    if not 0 <= feature < region.n_features:
        raise ValueError(f"feature must be in 0..{region.n_features - 1} for region "
                         f"{region.name!r}, got {feature}")
    return int(feature)
