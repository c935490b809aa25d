"""Every plot of bpt, drawn with matplotlib; each returns the Figure it drew on.

Every plotting function returns the matplotlib Figure (``fig.axes`` holds its panels) and
accepts an existing Axes (or Figure, or pair of Axes) to draw into.

- Surrogates and estimators: :func:`plot_closure` and :func:`plot_two_sample` (the results
  of :func:`bpt.closure_test` and :func:`bpt.classifier_two_sample_test`),
  :func:`plot_reliability` (:meth:`bpt.ProcessFractions.reliability`),
  :func:`plot_loss_curves` (a fitted tree's training and validation loss).
- Fits (:mod:`bpt.likelihood`): :func:`plot_scan` (profile scans), :func:`plot_impacts`
  (pulls and impacts), :func:`plot_data_model` (data against the stacked model, per region).
- Style: :func:`use_style` applies an mplhep style; :func:`parameter_label` and
  :func:`hat` write parameter names as symbols.

matplotlib is imported when a plot is drawn, not when bpt is imported.
"""
import re

import numpy as np
from scipy.stats import chi2

from .fractions import Reliability
from .parametrization import _format_point
from .validation import ClosureResult, TwoSampleResults

__all__ = ["hat", "parameter_label", "plot_closure", "plot_data_model", "plot_impacts",
           "plot_loss_curves", "plot_reliability", "plot_scan", "plot_two_sample", "use_style"]

GREEK = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "kappa",
         "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "phi", "chi", "psi", "omega")


def parameter_label(name):
    """A parameter's axis label: Greek names as symbols (``mu`` -> μ, ``mu_ttH`` -> μ_ttH)."""
    match = re.fullmatch(r"([A-Za-z]+)(?:_(\w+))?", str(name))
    if match is None or match.group(1).lower() not in GREEK:
        return str(name)
    base, sub = match.groups()
    symbol = "\\" + (base if base.islower() else base.capitalize())
    return f"${symbol}_{{\\mathrm{{{sub}}}}}$" if sub else f"${symbol}$"


def hat(name):
    """The best-fit symbol of a parameter, e.g. μ̂."""
    label = parameter_label(name)
    if label.startswith("$"):
        inner = label.strip("$")
        base, _, rest = inner.partition("_")
        return f"$\\hat{{{base}}}" + (f"_{rest}$" if rest else "$")
    return f"{label} (best fit)"


def figure_and_axes(ax=None, **figure):
    """(Figure, Axes): a new figure with one Axes, or the figure of the Axes given."""
    import matplotlib.pyplot as plt
    if ax is None:
        fig, ax = plt.subplots(layout="constrained", **figure)
        return fig, ax
    return ax.figure, ax


def use_style(style="ATLAS"):
    """Apply an mplhep style (``"ATLAS"``, ``"CMS"``, ``"LHCb2"``, ...) to later plots.

    Needs the optional ``mplhep`` package (``pip install "bpt[plot]"``).
    """
    try:
        import mplhep
    except ImportError:
        raise ImportError("use_style needs mplhep: pip install 'bpt[plot]' (or mplhep)") from None
    mplhep.style.use(style)


# ---------------------------------------------------------------------------- surrogates

def plot_closure(result, point=0, features=None, fig=None, units=None):
    """Histograms of the reweighted nominal and the varied sample, with a ratio panel.

    Parameters
    ----------
    result : ClosureResult or PointClosure
    point : int, default=0
        Which point of a ClosureResult.
    features : list of int, optional
        Positions in the result's feature list; default all.
    fig : matplotlib Figure, optional
    units : str or list of str, optional
        Units of the features (one for all, or one per feature drawn), for the axis labels.

    Returns
    -------
    matplotlib Figure
    """
    import matplotlib.pyplot as plt

    closure = result.points[point] if isinstance(result, ClosureResult) else result
    chosen = (closure.features if features is None
              else [closure.features[i] for i in features])
    if fig is None:
        fig = plt.figure(figsize=(3.8 * len(chosen), 4.4), layout="constrained")
    units = [units] * len(chosen) if units is None or isinstance(units, str) else list(units)
    point_label = _point_label(closure.point)
    grid = fig.add_gridspec(2, len(chosen), height_ratios=(3, 1), hspace=0.05)
    for j, fc in enumerate(chosen):
        top = fig.add_subplot(grid[0, j])
        bottom = fig.add_subplot(grid[1, j], sharex=top)
        centers = 0.5 * (fc.edges[1:] + fc.edges[:-1])
        widths = np.diff(fc.edges)
        widths = np.where(widths > 0, widths, 1.0)
        top.stairs(fc.nominal / widths, fc.edges, color="0.6", ls=":", label="nominal")
        top.stairs(fc.reweighted / widths, fc.edges, color="C0",
                   label=f"nominal × r(x|{point_label})")
        top.errorbar(centers, fc.varied / widths, yerr=fc.varied_error / widths, fmt="o",
                     ms=3, color="k", label=f"simulated at {point_label}")
        top.set_title(f"{fc.name}: $\\chi^2$/ndf = {fc.chi2:.1f}/{fc.ndf}", fontsize="small")
        top.tick_params(labelbottom=False)
        if j == 0:
            top.set_ylabel("events / bin width")
            top.legend(fontsize="x-small")
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = fc.varied / fc.reweighted
            error = np.sqrt(fc.varied_error ** 2 + (fc.varied * fc.reweighted_error
                                                      / fc.reweighted) ** 2) / fc.reweighted
        bottom.axhline(1.0, color="C0", lw=1)
        bottom.errorbar(centers, ratio, yerr=error, fmt="o", ms=3, color="k")
        bottom.set_xlabel(fc.name + (f" [{units[j]}]" if units[j] else ""))
        if j == 0:
            bottom.set_ylabel("simulated / (nominal × r)", fontsize="small")
    return fig


def plot_two_sample(result, ax=None):
    """Histogram of the permutation AUCs with the observed AUC marked.

    Parameters
    ----------
    result : TwoSampleResults or TwoSampleResult
        What :func:`classifier_two_sample_test` returns (one panel per point), or one of
        its points.
    ax : matplotlib Axes, optional
        For a single point.

    Returns
    -------
    matplotlib Figure
    """
    import matplotlib.pyplot as plt

    if isinstance(result, TwoSampleResults):
        if len(result) == 1:
            return plot_two_sample(result[0], ax)
        if ax is not None:
            raise ValueError("plot_two_sample draws several points on a figure of its own; "
                             "pass one point (result[k]) to draw into ax")
        fig, axes = plt.subplots(1, len(result), figsize=(4.2 * len(result), 3.6),
                                 layout="constrained", squeeze=False)
        for one, panel in zip(result, axes[0]):
            plot_two_sample(one, panel)
        return fig
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 3.6), layout="constrained")
    else:
        fig = ax.figure
    low = min(result.null_aucs.min(), result.auc)
    high = max(result.null_aucs.max(), result.auc)
    pad = 0.1 * (high - low) + 1e-4
    ax.hist(result.null_aucs, bins=30, range=(low - pad, high + pad), color="0.7",
            label=f"label permutations ({result.null_aucs.size})")
    ax.axvline(result.auc, color="C3", label=f"observed AUC {result.auc:.4f} "
                                             f"(p = {result.p_value:.3g})")
    ax.set_xlabel("AUC on held-out events")
    ax.set_ylabel("permutations")
    ax.set_title(f"simulated at {_point_label(result.point)} vs nominal × r",
                 fontsize="small")
    ax.legend(fontsize="small")
    return fig


def _point_label(point):
    """A base point for plot labels: ν = 1 or ν = (1, -0.5)."""
    return f"$\\nu$ = {_format_point(point)}"


def plot_reliability(reliability, ax=None, labels=None, process_names=None):
    """Draw the calibration curves: observed vs predicted fraction, one curve per process.

    Parameters
    ----------
    reliability : Reliability or sequence of Reliability
        Several (e.g. uncalibrated and calibrated) are drawn on the same axes, the later
        ones solid.
    ax : matplotlib Axes, optional
    labels : list of str, optional
        A label per Reliability; default "calibrated" / "uncalibrated".
    process_names : dict or list of str, optional
        Legend names of the processes: ``{label: name}``, or one name per process in the
        order of the curves (``ProcessFractions.classes_``). Default the class labels.

    Returns
    -------
    matplotlib Figure
    """
    import matplotlib.pyplot as plt

    results = [reliability] if isinstance(reliability, Reliability) else list(reliability)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 5.5), layout="constrained")
    else:
        fig = ax.figure
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls=":", label="perfect calibration")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, result in enumerate(results):
        tag = (labels[k] if labels is not None
               else ("calibrated" if result.calibrated else "uncalibrated"))
        style = "-" if k == len(results) - 1 else "--"
        for c, curve in enumerate(result.curves):
            ax.errorbar(curve.predicted, curve.observed, yerr=curve.error, ls=style,
                        marker="o", ms=3, color=colors[c % len(colors)],
                        label=f"{_process_name(curve.process, c, process_names)} ({tag}, "
                              f"ECE {curve.ece:.3f})")
    ax.set_xlabel("predicted fraction $g_p(x)$")
    ax.set_ylabel("observed fraction")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize="small")
    return fig


def _process_name(label, position, names):
    if names is None:
        return str(label)
    if isinstance(names, dict):
        return str(names.get(label, label))
    return str(names[position])


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


# ---------------------------------------------------------------------------------- fits

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
    from .likelihood.inference import FitResult
    from .likelihood.model import ObservedEvents
    from .likelihood.regions import BinnedRegion

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
        counts = np.asarray(entry.weights, dtype=float)
        xlabel = xlabel or "bin"
    else:
        column = _feature_column(chosen, feature)
        x_reference = np.concatenate([p.X[:, column] for p in chosen.processes])
        x_data = entry.X[:, column] if isinstance(entry, ObservedEvents) else x_reference
        weights_data = np.asarray(entry.weights, dtype=float)
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
