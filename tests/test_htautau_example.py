"""The H->tautau example on Pythia 8 events, at test size (examples/htautau, --tiny)."""
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pythia8mc")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def htautau():
    sys.path.insert(0, str(EXAMPLES))
    try:
        import htautau.analysis
        yield htautau
    finally:
        sys.path.remove(str(EXAMPLES))


@pytest.fixture(scope="module")
def tiny_run(htautau, tmp_path_factory):
    from htautau.analysis import TINY, Config, run
    config = Config(**{**TINY.__dict__, "n_toys": 2})
    output = tmp_path_factory.mktemp("htautau")
    result = run(config, output / "cache", output / "results", log=lambda message: None)
    return config, output, result


def test_generation_is_cached_and_seeded(htautau, tiny_run):
    from htautau.generation import cached_events
    config, output, result = tiny_run
    n, seed = config.events["htautau"]
    files = sorted((output / "cache").glob("htautau_*.npz"))
    assert [f.name for f in files] == [f"htautau_seed{seed}_n{n}.npz"]
    again = cached_events("htautau", n, seed, output / "cache", log=pytest.fail)
    np.testing.assert_array_equal(again.tau, result["truth"]["htautau"].tau)


def test_events_pass_the_selection_with_shower_weights(tiny_run):
    _, _, result = tiny_run
    for process, truth in result["truth"].items():
        # Preselected: a tau_h and a lepton above 15 GeV in every stored event.
        assert len(truth) > 0.03 * truth.n_generated, process
        assert (truth.tau[:, 0] > 15).all() and (truth.lepton[:, 0] > 15).all()
        # The shower variations are unitary: over all generated events each weight
        # averages to 1 within a few percent.
        np.testing.assert_allclose(truth.weight_sums / truth.n_generated, 1.0, atol=0.1)
    for role in result["roles"].values():
        for sample in role.values():
            selected = sample.at()
            assert len(selected.X) > 0 and np.isfinite(selected.X).all()
            assert (selected.X[:, 2] > 25).all() and (selected.X[:, 3] > 25).all()


def test_tau_energy_scale_scales_the_reconstructed_tau(htautau, tiny_run):
    from htautau.detector import FEATURES, TAU_SCALE
    _, _, result = tiny_run
    sample = result["roles"]["training"]["ztautau"]
    nominal, shifted = sample.at(), sample.at(tes=1.0)
    common, i, j = np.intersect1d(nominal.index, shifted.index, return_indices=True)
    assert common.size > 0
    column = FEATURES.index("tau_pt")
    np.testing.assert_allclose(shifted.X[j, column], (1 + TAU_SCALE) * nominal.X[i, column])
    # The lepton does not move; the tau threshold lets more events in at +1 sigma.
    np.testing.assert_array_equal(shifted.X[j, FEATURES.index("lepton_pt")],
                                  nominal.X[i, FEATURES.index("lepton_pt")])
    assert len(shifted.index) >= len(nominal.index)


def test_every_approach_recovers_mu_on_asimov_data(htautau, tiny_run):
    from bpt.likelihood import fit, profile_interval
    _, _, result = tiny_run
    for name, model in result["approaches"].models.items():
        u = model.likelihood(model.asimov({"mu": 1.0}))
        best = fit(u)
        assert best.valid, (name, best.reason)
        assert best["mu"] == pytest.approx(1.0, abs=1e-3), name
        low, high = profile_interval(u, "mu", 0.68, best=best)
        assert np.isfinite([low, high]).all() and low < 1.0 < high, name


def test_results_table_and_validation_plots_are_written(tiny_run):
    config, output, result = tiny_run
    table = (output / "results" / "results.md").read_text()
    assert table.count("\n| (") == 4 and "coverage μ=2" in table
    plots = sorted((output / "results" / "plots").glob("*.png"))
    # A closure and a two-sample plot for each of the two surrogates of three processes.
    assert len(plots) == 12
    studies = result["studies"]
    assert set(studies) == {0.5, 1.0, 2.0}
    for study in studies.values():
        assert study.estimates.shape == (config.n_toys, 4)
        assert np.isfinite(study.estimates[study.valid]).all()
