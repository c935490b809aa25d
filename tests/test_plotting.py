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
    ax = plot_scan([scan, scan], labels=["a", "b"]).axes[0]
    assert ax.get_xlabel() == r"$\mu$" and len(ax.get_lines()) >= 4
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    low, high = scan.interval(0.68)
    best = scan.best["mu"]
    assert any(t.startswith(r"$\hat{\mu}$ = " + f"{best:.3f}") and f"+{high - best:.3f}" in t
               for t in legend)
    left, right = plot_impacts(impacts(likelihood, "mu")).axes[:2]
    assert [t.get_text() for t in left.get_yticklabels()] in (["shape", "norm"], ["norm", "shape"])
    entries = [t.get_text() for t in right.get_legend().get_texts()]
    assert entries == [r"$+1\sigma$ post-fit", r"$-1\sigma$ post-fit", "pre-fit"]
    plt.close("all")


def test_parameter_labels():
    from bpt.plotting import hat, parameter_label
    assert parameter_label("mu") == r"$\mu$"
    assert parameter_label("mu_ttH") == r"$\mu_{\mathrm{ttH}}$"
    assert parameter_label("jes") == "jes"
    assert hat("theta") == r"$\hat{\theta}$"


def test_plot_data_model_binned_and_unbinned(likelihood):
    from bpt.likelihood import Process, UnbinnedRegion
    from bpt.likelihood.plotting import plot_data_model
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    signal = Process("signal", pd.DataFrame({"mass": rng.normal(125, 2, 300)}),
                     np.full(300, 0.2), rate=[Scale("mu")])
    background = Process("background", pd.DataFrame({"mass": rng.uniform(110, 140, 600)}),
                         np.full(600, 1.0), rate=[Normalization("norm", 0.1)])
    model = Model([POI("mu", 1.0, bounds=(-3, 5)), Nuisance("norm")],
                  [UnbinnedRegion("sr", [signal, background]),
                   BinnedRegion("cr", [BinnedProcess("background", [40.0, 30.0],
                                                     [Normalization("norm", 0.1)])])])
    data = model.toy({"mu": 1.5}, random_state=1)
    best = model.likelihood(data).fit()
    figure = plot_data_model(model, data, "sr", best, feature="mass", bins=15, units="GeV",
                             process_labels={"signal": "H → γγ"})
    top, ratio = figure.axes[:2]
    assert ratio.get_xlabel() == "mass [GeV]"
    legend = [t.get_text() for t in top.get_legend().get_texts()]
    assert legend[:2] == ["H → γγ", "background"] and "data" in legend
    # The top of the stack at the best fit holds the fitted expected yield of the region.
    stack_top = top.patches[1].get_data().values
    assert stack_top.sum() == pytest.approx(model.expected_yields(best.vector)["sr"])
    figure = plot_data_model(model, data, "cr", best, edges=[0, 1, 2])
    assert figure.axes[1].get_ylabel() == "data / model"
    with pytest.raises(ValueError, match="no feature named 'pt'"):
        plot_data_model(model, data, "sr", feature="pt")
    plt.close("all")


def test_plot_loss_curves():
    toy = toys.sine_shape(5000, random_state=0)
    model = BoostedParametricTree(n_estimators=5, early_stopping=True).fit(toy.X, toy.target,
                                                                          toy.weights)
    ax = plot_loss_curves(model).axes[0]
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


def test_mplhep_style():
    pytest.importorskip("mplhep")
    from bpt.likelihood.plotting import use_style
    with matplotlib.rc_context():
        use_style("ATLAS")
        assert matplotlib.rcParams["xtick.direction"] == "in"
