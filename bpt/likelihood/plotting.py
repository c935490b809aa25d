"""The plots of fits, under the likelihood's name: the functions of :mod:`bpt.plotting`.

Profile scans (:func:`plot_scan`), pulls and impacts (:func:`plot_impacts`), data against
the model per region (:func:`plot_data_model`), with the surrogate and estimator plots that
go with them; each returns its matplotlib Figure. They live in :mod:`bpt.plotting`.
"""
from ..plotting import (plot_closure, plot_data_model, plot_impacts, plot_loss_curves,
                        plot_reliability, plot_scan, plot_two_sample, use_style)

__all__ = ["plot_closure", "plot_data_model", "plot_impacts", "plot_loss_curves",
           "plot_reliability", "plot_scan", "plot_two_sample", "use_style"]
