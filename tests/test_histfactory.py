"""pyhf workspaces read as binned regions: the same fit and intervals as pyhf's own."""
import copy

import numpy as np
import pytest
from scipy.optimize import brentq

from bpt.likelihood import Model
from bpt.likelihood.histfactory import read_workspace

pyhf = pytest.importorskip("pyhf")

SPEC = {
 "channels": [
  {"name": "SR", "samples": [
    {"name": "signal", "data": [5.0, 12.0, 8.0], "modifiers": [
       {"name": "mu", "type": "normfactor", "data": None},
       {"name": "lumi", "type": "lumi", "data": None},
       {"name": "sig_acc", "type": "normsys", "data": {"hi": 1.08, "lo": 0.95}}]},
    {"name": "background", "data": [50.0, 40.0, 20.0], "modifiers": [
       {"name": "lumi", "type": "lumi", "data": None},
       {"name": "bkg_shape", "type": "histosys", "data": {"hi_data": [54.0, 41.0, 18.0], "lo_data": [47.0, 39.5, 21.5]}},
       {"name": "bkg_norm", "type": "normsys", "data": {"hi": 1.1, "lo": 0.92}},
       {"name": "staterror_SR", "type": "staterror", "data": [3.0, 2.5, 2.0]}]}]},
  {"name": "CR", "samples": [
    {"name": "background", "data": [200.0, 150.0], "modifiers": [
       {"name": "lumi", "type": "lumi", "data": None},
       {"name": "bkg_norm", "type": "normsys", "data": {"hi": 1.1, "lo": 0.92}},
       {"name": "bkg_shape", "type": "histosys", "data": {"hi_data": [206.0, 151.0], "lo_data": [195.0, 149.0]}},
       {"name": "cr_free", "type": "shapefactor", "data": None}]}]}],
 "observations": [{"name": "SR", "data": [62, 57, 25]}, {"name": "CR", "data": [215, 148]}],
 "measurements": [{"name": "meas", "config": {"poi": "mu", "parameters": [
     {"name": "lumi", "auxdata": [1.0], "sigmas": [0.02], "bounds": [[0.5, 1.5]], "inits": [1.0]}]}}],
 "version": "1.0.0"}

CODES = [{"normsys": "code4", "histosys": "code4p"}, {"normsys": "code1", "histosys": "code0"}]


def pyhf_model(codes):
    workspace = pyhf.Workspace(SPEC)
    settings = {"normsys": {"interpcode": codes["normsys"]},
                "histosys": {"interpcode": codes["histosys"]}}
    model = workspace.model(modifier_settings=settings)
    return model, workspace.data(model)


@pytest.fixture(scope="module", params=range(len(CODES)), ids=["code4", "code1"])
def both(request):
    codes = CODES[request.param]
    pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(tolerance=1e-6, strategy=2))
    model, data = pyhf_model(codes)
    read = read_workspace(SPEC, interpolation=codes)
    ours = Model(read.parameters, read.regions)
    u = ours.likelihood(ours.data(read.observations))
    return model, data, u, read


def test_parameters_and_constraints(both):
    model, _, u, read = both
    assert sorted(u.names) == sorted(model.config.par_names)
    assert read.poi == "mu"
    lumi = [p for p in read.parameters if p.name == "lumi"][0]
    assert (lumi.width, lumi.bounds, lumi.constraint) == (0.02, (0.5, 1.5), "gaussian")
    gamma = [p for p in read.parameters if p.name == "staterror_SR[1]"][0]
    assert gamma.width == pytest.approx(2.5 / 40)


def test_likelihood_differences_agree(both):
    model, data, u, _ = both
    rng = np.random.default_rng(0)
    names = model.config.par_names
    start = np.array(model.config.suggested_init(), dtype=float)

    def ours(vector):
        return u(np.array([vector[names.index(n)] for n in u.names]))

    def theirs(vector):
        return float(-2 * model.logpdf(vector, data)[0])

    for _ in range(5):
        point = start + rng.normal(0, 0.03, start.size) * np.where(start == 0, 30, 1)
        assert ours(point) - ours(start) == pytest.approx(theirs(point) - theirs(start),
                                                          abs=1e-8)


def test_best_fit_and_intervals_agree(both):
    model, data, u, _ = both
    names = model.config.par_names
    best = pyhf.infer.mle.fit(data, model, return_fitted_val=True)
    ours = u.fit(tolerance=1e-7)
    assert ours.valid
    for name, value in zip(names, best[0]):
        assert ours[name] == pytest.approx(value, abs=1e-4), name
    minimum = float(best[1])

    def q(mu):
        return float(pyhf.infer.mle.fixed_poi_fit(mu, data, model,
                                                  return_fitted_val=True)[1]) - minimum - 1
    mu_hat = ours["mu"]
    low, high = brentq(q, 1e-3, mu_hat), brentq(q, mu_hat, mu_hat + 3)   # mu >= 0 in pyhf
    ours_low, ours_high = u.interval("mu", 0.6826894921370859)
    assert ours_low == pytest.approx(low, abs=1e-4)
    assert ours_high == pytest.approx(high, abs=1e-4)


def test_unsupported_modifier_and_interpolation_refused():
    spec = copy.deepcopy(SPEC)
    spec["channels"][1]["samples"][0]["modifiers"].append(
        {"name": "mc_stat", "type": "shapesys", "data": [5.0, 4.0]})
    with pytest.raises(ValueError, match="channel 'CR', sample 'background'.*'shapesys'"):
        read_workspace(spec)
    with pytest.raises(ValueError, match="interpolation\\['normsys'\\]"):
        read_workspace(SPEC, interpolation={"normsys": "code2"})


def test_unbinned_region_shares_the_workspace_parameters():
    from bpt.likelihood import Process, Scale, UnbinnedRegion
    read = read_workspace(SPEC)
    rng = np.random.default_rng(1)
    signal = Process("signal", rng.normal(size=(200, 1)), np.full(200, 0.1),
                     rate=[Scale("mu"), Scale("lumi")])
    background = Process("background", rng.uniform(-3, 3, size=(400, 1)), np.full(400, 0.1),
                         rate=[Scale("lumi")])
    unbinned = UnbinnedRegion("unbinned", [signal, background])
    combined = Model(read.parameters, read.regions + [unbinned])
    assert combined.parameters.names == [p.name for p in read.parameters]
    truth = {"mu": 1.5, "lumi": 1.01}
    fitted = combined.likelihood(combined.asimov(truth)).fit(tolerance=1e-7)
    assert fitted.valid
    assert fitted["mu"] == pytest.approx(1.5, abs=1e-3)


def test_per_event_interpolation_from_the_workspace():
    """The background's histosys and normsys as a per-event code-4 surrogate: the weighted
    events of every bin reproduce the workspace's yields at alpha = 0, +-1, and the normsys
    factor follows pyhf's code 4 in between."""
    from bpt.likelihood import interpolation_from_workspace

    edges = [0.0, 1.0, 2.5, 4.0]
    surrogate = interpolation_from_workspace(SPEC, "SR", "background", edges, feature=1)
    assert surrogate.parameter_names_ == ["bkg_shape", "bkg_norm"]
    rng = np.random.default_rng(0)
    nominal = np.array([50.0, 40.0, 20.0])
    X = np.column_stack([rng.normal(size=3000),
                         np.concatenate([rng.uniform(edges[b], edges[b + 1], 1000)
                                         for b in range(3)])])
    w = np.repeat(nominal / 1000, 1000)
    bins = np.repeat(np.arange(3), 1000)

    def yields(alpha):
        return np.bincount(bins, weights=w * surrogate.predict_ratio(X, alpha), minlength=3)

    np.testing.assert_allclose(yields([0.0, 0.0]), nominal)
    np.testing.assert_allclose(yields([1.0, 0.0]), [54.0, 41.0, 18.0])
    np.testing.assert_allclose(yields([-1.0, 0.0]), [47.0, 39.5, 21.5])
    np.testing.assert_allclose(yields([0.0, 1.0]), 1.1 * nominal)
    for alpha in (-1.7, -0.4, 0.3, 0.8, 2.2):
        factor = pyhf.interpolators.code4([[[[0.92], [1.0], [1.1]]]])(np.array([[alpha]]))
        expected = float(np.asarray(factor).ravel()[0])
        np.testing.assert_allclose(yields([0.0, alpha]), expected * nominal, rtol=1e-10)
    only = interpolation_from_workspace(SPEC, "SR", "background", edges, modifiers=["bkg_norm"])
    assert only.parameter_names_ == ["bkg_norm"]
    with pytest.raises(ValueError, match="sample 'nope' is not in channel 'SR'"):
        interpolation_from_workspace(SPEC, "SR", "nope", edges)
    with pytest.raises(ValueError, match="4 increasing bin edges"):
        interpolation_from_workspace(SPEC, "SR", "background", [0.0, 1.0])
    with pytest.raises(ValueError, match="no normsys or histosys modifier 'lumi'"):
        interpolation_from_workspace(SPEC, "SR", "background", edges, modifiers=["lumi"])
    with pytest.raises(ValueError, match="outside the edges"):
        surrogate.predict_ratio(X + [0.0, 5.0], [0.0, 0.0])
