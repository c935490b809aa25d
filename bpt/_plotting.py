"""Shared pieces of the plots: figures, parameter symbols, optional mplhep styling.

Every plotting function of bpt returns the matplotlib Figure it drew on (``fig.axes`` holds
its panels) and accepts an existing Axes (or Figure) to draw into.
"""
import re

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
