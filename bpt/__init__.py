"""bpt: boosted parametric and information trees for machine-learned likelihood ratios.

``BoostedParametricTree`` learns how nuisance parameters change the differential cross
section, ``log r(x|nu) = m(nu) . Delta(x)``, from samples simulated at a few base points.
``BoostedInformationTree`` learns polynomial parameter dependence,
``r(x|theta) = 1 + m(theta) . t(x)``, from per-event weights and their coefficients.
Around them: ``ProcessFractions`` (calibrated g_p(x) for the mixture model),
``FactorizedInterpolation`` (the HistFactory code-4 baseline surrogate) and the surrogate
checks ``closure_test`` and ``classifier_two_sample_test``; their plots are in
:mod:`bpt.plotting`, the toy models with known truth in :mod:`bpt.toys`.
"""
try:
    from ._core import _common  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on how the package was installed
    raise ImportError(
        "bpt's compiled core (bpt._core) is not built. Install the package with "
        "`pip install .`, or `pip install -e .` to develop in the source tree; if this "
        "happens while running from a source checkout next to an installed bpt, run from "
        "another directory.") from exc

from .coefficients import coefficients_from_derivatives, coefficients_from_weights
from .export import load, log_ratio_function, save, to_onnx
from .fractions import ProcessFractions, fraction_information
from .information import BoostedInformationTree
from .model_selection import BasePointKFold
from .interpolation import FactorizedInterpolation, code4_coefficients, code4_log_factor
from .parametric import BoostedParametricTree
from .parametrization import Parametrization
from .plotting import plot_closure, plot_reliability, plot_two_sample
from .training import TrainingJob, fit_surrogates
from .validation import (classifier_two_sample_test, closure_test, compare_parametrizations,
                         weight_closure_test, weight_two_sample_test, weighted_auc)
from . import toys

__all__ = ["BasePointKFold", "BoostedInformationTree", "BoostedParametricTree", "FactorizedInterpolation",
           "Parametrization", "ProcessFractions", "TrainingJob", "fit_surrogates", "classifier_two_sample_test",
           "closure_test", "code4_coefficients", "compare_parametrizations", "code4_log_factor",
           "coefficients_from_derivatives", "coefficients_from_weights", "fraction_information",
           "load",
           "log_ratio_function", "plot_closure", "plot_reliability", "plot_two_sample",
           "save", "to_onnx", "toys", "weight_closure_test", "weight_two_sample_test",
           "weighted_auc"]
__version__ = "0.1.0"
