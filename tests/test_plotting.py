"""The plots draw without error on real results (Agg backend)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bpt import BoostedParametricTree, toys  # noqa: E402
from bpt.likelihood import (POI, BinnedProcess, BinnedRegion, BinnedSystematic, Model,  # noqa: E402
                            Normalization, Nuisance, Scale, impacts)
from bpt import closure_test  # noqa: E402
from bpt.likelihood.plotting import (plot_closure, plot_impacts, plot_loss_curves,  # noqa: E402
                                     plot_scan)


@pytest.fixture(scope="module")
def likelihood():
    systematic = BinnedSystematic("shape", [0.0, -1.0, 1.0], [[20, 30], [18, 33], [23, 28]])
    model = Model([POI("mu", 1.0, bounds=(-3, 5)), Nuisance("shape"), Nuisance("norm")],
                  [BinnedRegion("sr", [
                      BinnedProcess("s", [5.0, 10.0], [Scale("mu")]),
                      BinnedProcess("b", [20.0, 30.0], [Normalization("norm", 0.1)],
                                    systematics=[systematic])])])
    return model.likelihood(model.asimov())


def test_plot_scan_and_impacts(likelihood):
    scan = likelihood.scan("mu", np.linspace(-1, 3, 9))
    ax = plot_scan([scan, scan], labels=["a", "b"])
    assert ax.get_xlabel() == "mu" and len(ax.get_lines()) >= 4
    left, right = plot_impacts(impacts(likelihood, "mu"))
    assert [t.get_text() for t in left.get_yticklabels()] in (["shape", "norm"], ["norm", "shape"])
    plt.close("all")


def test_plot_loss_curves():
    toy = toys.sine_shape(5000, random_state=0)
    model = BoostedParametricTree(n_estimators=5, early_stopping=True).fit(toy.X, toy.target,
                                                                          toy.weights)
    ax = plot_loss_curves(model)
    assert len(ax.get_lines()) == 3
    with pytest.raises(ValueError, match="no loss curve"):
        plot_loss_curves(BoostedParametricTree(n_estimators=2, early_stopping=False).fit(
            toy.X, toy.target, toy.weights))
    plt.close("all")


def test_plot_surrogate_closure():
    toy = toys.sine_shape(5000, random_state=1)
    model = BoostedParametricTree(n_estimators=10).fit(toy.X, toy.target, toy.weights)
    result = closure_test(model, toy.X, toy.target, toy.weights, points=[[1.0]])
    figure = plot_closure(result)
    assert len(figure.axes) == 2  # the histograms and the ratio panel
    plt.close("all")
