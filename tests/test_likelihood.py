"""bpt.likelihood: the statistic against NumPy, its derivatives, binned regions, options."""
import numpy as np
import pytest

from bpt import BoostedInformationTree, BoostedParametricTree, toys
from bpt.likelihood import (POI, BinnedPoiDependence, BinnedProcess, BinnedRegion,
                            BinnedSystematic, LogRatioSystematic, Model, Normalization,
                            Nuisance, PoiDependence, Process, Scale, Systematic, UnbinnedRegion,
                            coverage, fit, impacts)


def two_process_sample(rng, n):
    """Features of either process: x0 ~ U(-pi, pi), x1 ~ N(0, 1). The POI dependence
    (1 + theta sin x0)^2 and the shift of x1 with es enter through the surrogates."""
    X = np.column_stack([rng.uniform(-np.pi, np.pi, n), rng.normal(size=n)])
    return X


@pytest.fixture(scope="module")
def surrogates():
    rng = np.random.default_rng(0)
    bit_toy = toys.quadratic_sine(20_000, n_noise_features=1, random_state=0)
    bit = BoostedInformationTree("quadratic", n_estimators=15, early_stopping=False)
    bit.fit(bit_toy.X, bit_toy.target)
    shapes = {}
    for name, shift in (("sig", 0.3), ("bkg", -0.2)):
        X = two_process_sample(rng, 30_000)
        nu = np.repeat([0.0, -1.0, 1.0], 10_000)
        X[:, 1] += shift * nu
        shapes[name] = BoostedParametricTree("quadratic", n_estimators=15, min_samples_leaf=100,
                                             early_stopping=False).fit(X, nu)
    return bit, shapes


def make_model(surrogates, yields="exact", generic=False):
    bit, shapes = surrogates
    rng = np.random.default_rng(1)
    sig_X, bkg_X = two_process_sample(rng, 4000), two_process_sample(rng, 6000)
    background_shape = (LogRatioSystematic(shapes["bkg"], ["es"]) if generic
                        else Systematic(shapes["bkg"], ["es"]))
    unbinned = UnbinnedRegion("sr", [
        Process("sig", sig_X, np.full(4000, 0.05), rate=[Scale("mu")],
                poi=PoiDependence(bit, ["theta"]), systematics=[Systematic(shapes["sig"], ["es"])]),
        Process("bkg", bkg_X, np.full(6000, 0.5), rate=[Normalization("norm", 0.1)],
                systematics=[background_shape]),
    ], fractions=lambda X: np.column_stack([np.full(len(X), 0.2), np.full(len(X), 0.8)]))
    points = np.array([0.0, -1.0, 1.0])
    binned = BinnedRegion("cr", [
        BinnedProcess("sig", [5.0, 3.0], rate=[Scale("mu")],
                      poi=BinnedPoiDependence("theta", [0.0, 1.0, -1.0], [[5, 3], [7, 3.5], [4, 3.1]])),
        BinnedProcess("bkg", [50.0, 80.0], rate=[Normalization("norm", 0.1)],
                      systematics=[BinnedSystematic("es", points, [[50, 80], [45, 84], [56, 77]])]),
    ])
    parameters = [POI("mu", 1.0, bounds=(-1, 5)), POI("theta", 0.0, bounds=(-2, 2)),
                  Nuisance("es"), Nuisance("norm")]
    return Model(parameters, [unbinned, binned], yields=yields)


def numeric_gradient(function, x, step=1e-5):
    return np.array([(function(x + step * e) - function(x - step * e)) / (2 * step)
                     for e in np.eye(x.size)])


@pytest.mark.parametrize("which", ["asimov", "toy", "observed"])
def test_gradient_and_hessian_match_finite_differences(surrogates, which):
    model = make_model(surrogates)
    if which == "asimov":
        data = model.asimov({"mu": 1.3, "theta": 0.2, "es": 0.5, "norm": -0.3})
    elif which == "toy":
        data = model.toy({"mu": 0.8}, random_state=5)
    else:
        rng = np.random.default_rng(7)
        data = model.data({"sr": two_process_sample(rng, 700), "cr": [60, 85]})
    u = model.likelihood(data)
    x = np.array([1.2, -0.3, 0.4, 0.2])
    np.testing.assert_allclose(u.grad(x), numeric_gradient(u, x), rtol=1e-6, atol=1e-6)
    numeric_hessian = numeric_gradient(u.grad, x)
    np.testing.assert_allclose(u.hessian(x), numeric_hessian, rtol=1e-6,
                               atol=1e-6 * np.abs(numeric_hessian).max())


def test_statistic_matches_numpy(surrogates):
    """u from the compiled pass against a direct NumPy evaluation of its definition."""
    bit, shapes = surrogates
    model = make_model(surrogates)
    rng = np.random.default_rng(3)
    data_X = two_process_sample(rng, 500)
    counts = np.array([61.0, 79.0])
    u = model.likelihood(model.data({"sr": data_X, "cr": counts}))
    mu, theta, es, norm = x = np.array([1.4, 0.3, -0.7, 0.5])

    def ratio(X):
        sig = mu * (1 + bit.predict(X) @ [theta, theta ** 2]) * \
            np.exp(shapes["sig"].predict_log_ratio(X, [es]))
        bkg = 1.1 ** norm * np.exp(shapes["bkg"].predict_log_ratio(X, [es]))
        return 0.2 * sig + 0.8 * bkg

    region = model.region("sr")
    sim_X = np.vstack([p.X for p in region.processes])
    sim_w = np.concatenate([p.weights for p in region.processes])
    unbinned = 2 * np.sum(sim_w * (ratio(sim_X) - 1)) - 2 * np.sum(np.log(ratio(data_X)))
    cr = model.region("cr")
    t = cr.processes[0].poi.coefficients(np.arange(2))
    delta = cr.processes[1].systematics[0].coefficients(np.arange(2))
    lam = (mu * np.array([5.0, 3.0]) * (1 + t @ [theta, theta ** 2])
           + 1.1 ** norm * np.array([50.0, 80.0]) * np.exp(delta @ [es, es ** 2]))
    lam_ref = np.array([55.0, 83.0])
    binned = 2 * np.sum(lam - lam_ref) - 2 * np.sum(counts * np.log(lam / lam_ref))
    assert u(x) == pytest.approx(unbinned + binned + es ** 2 + norm ** 2, rel=1e-10)


def test_reference_point_and_asimov_fit(surrogates):
    model = make_model(surrogates)
    nominal = model.parameters.nominal
    assert model.likelihood(model.asimov())(nominal) == pytest.approx(0.0, abs=1e-9)
    truth = {"mu": 1.5, "theta": 0.3, "es": -0.6, "norm": 0.4}
    # Asimov data are exactly self-consistent: with a tight tolerance the fit finds the truth.
    result = fit(model.likelihood(model.asimov(truth)), tolerance=1e-7)
    assert result.valid
    for name, value in truth.items():
        assert result[name] == pytest.approx(value, abs=1e-5)
    assert set(result.errors) == set(truth)


def test_binned_systematic_reproduces_yields_at_its_points():
    points = [0.0, -1.0, 1.0]
    yields = [[50.0, 80.0], [45.0, 84.0], [56.0, 77.0]]
    systematic = BinnedSystematic("es", points, yields)
    delta = systematic.coefficients(np.arange(2))
    for point, expected in zip(points, yields):
        np.testing.assert_allclose(np.array(yields[0]) * np.exp(delta @ [point, point ** 2]),
                                   expected, rtol=1e-12)


def test_binned_systematic_is_the_least_squares_log_ratio_fit():
    # More points than terms, the nominal point not first, and a bin no process populates.
    points = np.array([1.0, 0.0, -1.0, 0.5, 2.0])
    yields = np.array([[56.0, 0.0, 9.0], [50.0, 0.0, 10.0], [45.0, 0.0, 12.0],
                       [53.0, 0.0, 9.5], [61.0, 0.0, 8.0]])
    systematic = BinnedSystematic("es", points, yields)
    delta = systematic.coefficients(np.arange(3))
    others = [0, 2, 3, 4]
    design = np.column_stack([points[others], points[others] ** 2])
    log_ratios = np.log(yields[others][:, [0, 2]] / yields[1, [0, 2]])
    np.testing.assert_allclose(delta[[0, 2]], (np.linalg.pinv(design) @ log_ratios).T,
                               rtol=1e-12)
    np.testing.assert_array_equal(delta[1], 0.0)


def test_counting_region_is_poisson():
    model = Model([POI("mu", 1.0), Nuisance("b")],
                  [BinnedRegion("count", [BinnedProcess("s", 10.0, [Scale("mu")]),
                                          BinnedProcess("b", 100.0, [Normalization("b", 0.05)])])])
    u = model.likelihood(model.data({"count": [130.0]}))
    for mu, b in [(1.0, 0.0), (3.0, 0.5), (0.2, -1.0)]:
        lam = 10 * mu + 100 * 1.05 ** b
        expected = 2 * (lam - 110) - 2 * 130 * np.log(lam / 110) + b ** 2
        assert u(np.array([mu, b])) == pytest.approx(expected, rel=1e-12)
    best = fit(u, fixed={"b": 0.0})
    # The minimum is at mu = 3. The fit stops when the predicted decrease of u (= -2 ln L)
    # is below 0.002 * TOLERANCE = 2e-6, so u is that close to its minimum, and mu within
    # sqrt(2e-6) = 1.4e-3 of its error.
    exact = np.array([3.0, 0.0])
    assert 0 <= best.u - u(exact) <= 2e-6
    assert abs(best["mu"] - 3.0) <= 1.5e-3 * best.errors["mu"]


def test_generic_log_ratio_systematic(surrogates):
    fast = make_model(surrogates)
    generic = make_model(surrogates, generic=True)
    truth = {"mu": 1.2, "es": 0.3}
    x = np.array([1.1, 0.1, 0.5, -0.2])
    u_fast = fast.likelihood(fast.asimov(truth))
    u_generic = generic.likelihood(generic.asimov(truth))
    assert u_generic(x) == pytest.approx(u_fast(x), rel=1e-10)
    np.testing.assert_allclose(u_generic.grad(x), u_fast.grad(x), rtol=1e-5, atol=1e-6)
    assert not u_generic.has_hessian


@pytest.mark.parametrize("box, bound", [((2.0, 0.5, 1.0), 8e-4), ((3.0, 1.5, 3.0), 0.038)])
def test_spline_yields_against_exact(surrogates, box, bound):
    """Interpolated against exact yields over 200 random points of a box (mu up to, |theta|,
    |es| and |norm| up to). The signal's POI and es effects do not factorize exactly; the
    largest relative differences measured: 5.3e-4 within one standard deviation, 2.5e-2 out
    to three (es extrapolated beyond the +-1 training points). Bounds: 1.5 times those."""
    exact, spline = make_model(surrogates), make_model(surrogates, yields="spline")
    mu_high, theta_high, nuisance_high = box
    rng = np.random.default_rng(11)
    worst = 0.0
    for _ in range(200):
        x = np.array([rng.uniform(0, mu_high), rng.uniform(-theta_high, theta_high),
                      rng.uniform(-nuisance_high, nuisance_high),
                      rng.uniform(-nuisance_high, nuisance_high)])
        interpolated = spline.spline_yields["sr"]
        ratio = (interpolated.evaluate(x)[0] + interpolated.A.sum()) / exact.expected_yields(x)["sr"]
        worst = max(worst, abs(ratio - 1))
    assert worst < bound


def test_spline_yields_fit(surrogates):
    exact, spline = make_model(surrogates), make_model(surrogates, yields="spline")
    truth = {"mu": 1.2, "es": 0.3}
    a = fit(exact.likelihood(exact.asimov(truth)))
    b = fit(spline.likelihood(spline.asimov(truth)))
    assert b["mu"] == pytest.approx(a["mu"], abs=2e-3)
    assert b.errors["mu"] == pytest.approx(a.errors["mu"], rel=1e-2)


def test_toys_are_reproducible_and_unbiased(surrogates):
    model = make_model(surrogates)
    a = model.toy({"mu": 1.0}, random_state=4)
    b = model.toy({"mu": 1.0}, random_state=4)
    np.testing.assert_array_equal(a.regions["sr"].weights, b.regions["sr"].weights)
    totals = [model.toy(random_state=s).total_weight("cr") for s in range(300)]
    assert np.mean(totals) == pytest.approx(138.0, abs=4 * np.sqrt(138 / 300))


def test_coverage_runs_in_parallel_identically(surrogates):
    model = make_model(surrogates)
    serial = coverage(model, "mu", n_toys=6, random_state=1, n_jobs=1)
    parallel = coverage(model, "mu", n_toys=6, random_state=1, n_jobs=2)
    np.testing.assert_allclose(serial.q, parallel.q, rtol=1e-6, atol=1e-8)
    assert serial.valid.all()


def test_impacts(surrogates):
    model = make_model(surrogates)
    result = impacts(model.likelihood(model.asimov()), "mu")
    assert result.names == ["es", "norm"]
    np.testing.assert_allclose(result.pulls, 0.0, atol=1e-4)
    assert (result.constraints > 0).all() and (result.constraints <= 1.0 + 1e-6).all()
    assert (np.abs(result.prefit) >= np.abs(result.postfit) - 1e-9).all()
    # The normalization acts linearly: its impacts point in opposite directions.
    assert result.postfit[1, 0] * result.postfit[1, 1] < 0
    # An impact is the POI shift of a refit with the nuisance held at its shifted value.
    u = model.likelihood(model.asimov())
    best = fit(u)
    held = fit(u, fixed={"es": best["es"] + best.errors["es"]}, start=best.vector)
    assert result.postfit[0, 1] == pytest.approx(held["mu"] - best["mu"], abs=1e-3)
    assert set(result.ranking()) == {"es", "norm"}


# ------------------------------------------------------------------------------ bad input

def test_unknown_parameter_in_a_modifier():
    with pytest.raises(KeyError, match="unknown parameter 'lumi'"):
        Model([POI("mu")], [BinnedRegion("c", [BinnedProcess("s", 1.0, [Normalization("lumi", 0.02)])])])


def test_data_errors(surrogates):
    model = make_model(surrogates)
    with pytest.raises(ValueError, match="no data given for region 'cr'"):
        model.data({"sr": np.zeros((3, 2))})
    with pytest.raises(ValueError, match=r"data must have shape \(n, 2\)"):
        model.data({"sr": np.zeros((3, 3)), "cr": [1, 2]})
    with pytest.raises(ValueError, match="expected 2 non-negative counts"):
        model.data({"sr": np.zeros((3, 2)), "cr": [1, -2]})
    with pytest.raises(ValueError, match="NaN or infinite"):
        model.data({"sr": np.full((3, 2), np.nan), "cr": [1, 2]})
    with pytest.raises(ValueError, match="unknown regions"):
        model.data({"sr": np.zeros((3, 2)), "cr": [1, 2], "other": [3]})


def test_observed_events_need_fractions():
    model = Model([POI("mu")], [UnbinnedRegion("sr", [Process("s", np.ones((5, 1)))])])
    with pytest.raises(ValueError, match="observed events need the process fractions"):
        model.data({"sr": np.ones((2, 1))})


def test_component_errors():
    with pytest.raises(ValueError, match="nominal point 0 exactly once"):
        BinnedSystematic("es", [1.0, -1.0, 2.0], [[1.0], [2.0], [3.0]])
    with pytest.raises(ValueError, match="non-positive yield at point .* but not at every point"):
        BinnedSystematic("es", [0.0, -1.0, 1.0], [[1.0], [0.0], [3.0]])
    with pytest.raises(ValueError, match="give the parametrization"):
        Systematic(lambda X: np.zeros((len(X), 2)), ["es"])
    with pytest.raises(ValueError, match="bounds .* must contain the nominal value"):
        POI("mu", 1.0, bounds=(2, 3))
    with pytest.raises(ValueError, match="parameter names must be unique"):
        Model([POI("mu"), Nuisance("mu")], [])


def test_non_positive_ratio_gives_infinite_statistic():
    model = Model([POI("mu", 1.0, bounds=(-5, 5))],
                  [BinnedRegion("c", [BinnedProcess("s", 10.0, [Scale("mu")])])])
    u = model.likelihood(model.data({"c": [3.0]}))
    assert np.isinf(u(np.array([-1.0])))


def test_minos_matches_the_profile_interval(surrogates):
    model = make_model(surrogates)
    u = model.likelihood(model.toy({"mu": 1.0}, random_state=2))
    result = fit(u, minos=["mu"])
    low, high = u.interval("mu", 0.68)
    assert result.minos["mu"][0] == pytest.approx(low - result["mu"], rel=2e-3)
    assert result.minos["mu"][1] == pytest.approx(high - result["mu"], rel=2e-3)
    assert result.errors["mu"] == pytest.approx(np.sqrt(result.covariance[0, 0]))


def many_parameter_model():
    """Three processes, two-parameter and shared one-parameter systematics as coefficient
    functions, several normalizations per process and a product of two scales."""
    rng = np.random.default_rng(3)

    def shape(a, b):
        return lambda X: np.column_stack([a * np.sin(X[:, 0]), b * X[:, 1],
                                          0.01 * X[:, 0] ** 2, 0.02 * np.cos(X[:, 1]),
                                          0.01 * X[:, 0] * X[:, 1]])

    def single(a):
        return lambda X: np.column_stack([a * X[:, 0], 0.01 * a * X[:, 1] ** 2])

    processes = []
    for p, rate in enumerate([[Scale("mu"), Scale("k"), Normalization("n1", 0.05)],
                              [Normalization("n1", 0.03), Normalization("n2", 0.1)],
                              [Normalization("n2", 0.02), Normalization("n3", 0.2)]]):
        X = rng.normal(size=(800, 2))
        systematics = [Systematic(single(0.05 * (p + 1)), ["c"], "quadratic")]
        if p > 0:
            systematics.append(Systematic(shape(0.03 * p, 0.02), ["a", "b"], "quadratic"))
        processes.append(Process(f"p{p}", X, np.full(800, 0.5 + p), rate=rate,
                                 systematics=systematics))
    parameters = [POI("mu", 1.0, bounds=(-1, 5)), POI("k", 1.0, bounds=(0.1, 3))] + \
        [Nuisance(name) for name in ("a", "b", "c", "n1", "n2", "n3")]
    region = UnbinnedRegion("sr", processes,
                            fractions=lambda X: np.tile([0.2, 0.5, 0.3], (len(X), 1)))
    return Model(parameters, [region])


def test_parameter_space_hessian_with_many_modifiers_matches_finite_differences():
    model = many_parameter_model()
    u = model.likelihood(model.toy({"mu": 1.2, "a": 0.3}, random_state=2))
    x = np.array([1.1, 0.9, 0.2, -0.3, 0.4, 0.1, -0.2, 0.3])
    np.testing.assert_allclose(u.grad(x), numeric_gradient(u, x), rtol=1e-6, atol=1e-6)
    numeric_hessian = numeric_gradient(u.grad, x)
    np.testing.assert_allclose(u.hessian(x), numeric_hessian, rtol=1e-6,
                               atol=1e-6 * np.abs(numeric_hessian).max())


def test_gauss_newton_matches_numpy_reference():
    model = many_parameter_model()
    data = model.toy({"mu": 1.2}, random_state=4)
    u = model.likelihood(data)
    x = np.array([1.1, 0.9, 0.2, -0.3, 0.4, 0.1, -0.2, 0.3])
    events = model.reference["sr"]
    d = data.regions["sr"].weights
    ratio = events.ratios(x)
    step = 1e-6
    jacobian = np.column_stack([(events.ratios(x + step * e) - events.ratios(x - step * e))
                                / (2 * step) for e in np.eye(x.size)])
    reference = 2 * jacobian.T @ ((d / ratio ** 2)[:, None] * jacobian)
    reference += np.diag(np.where(model.parameters.constrained, 2.0, 0.0))
    np.testing.assert_allclose(u.gauss_newton(x), reference, rtol=1e-6,
                               atol=1e-8 * np.abs(reference).max())
    assert np.linalg.eigvalsh(u.gauss_newton(x)).min() > 0


def test_float32_coefficient_cache_agrees_with_float64():
    double = many_parameter_model()
    single = Model(list(double.parameters), double.regions, coefficient_dtype=np.float32)
    assert single.reference["sr"].coefficients.dtype == np.float32
    assert "coefficient cache" in repr(single) and "float32" in repr(single)
    data = double.toy({"mu": 1.2}, random_state=2)
    x = np.array([1.1, 0.9, 0.2, -0.3, 0.4, 0.1, -0.2, 0.3])
    u64, u32 = double.likelihood(data), single.likelihood(data)
    value64, gradient64 = u64.value_and_gradient(x)
    value32, gradient32 = u32.value_and_gradient(x)
    assert abs(value32 - value64) < 1e-5 * max(1.0, abs(value64))
    np.testing.assert_allclose(gradient32, gradient64, rtol=1e-4,
                               atol=1e-5 * np.abs(gradient64).max())
    np.testing.assert_allclose(u32.hessian(x), u64.hessian(x), rtol=1e-4,
                               atol=1e-5 * np.abs(u64.hessian(x)).max())
    with pytest.raises(ValueError, match="coefficient_dtype"):
        Model(list(double.parameters), double.regions, coefficient_dtype=np.int32)


def test_curvature_on_two_threads_agrees_and_repeats():
    """The curvature passes split the events between threads (2400 events: two ranges of
    at least one block each); the sums agree with one thread up to rounding, and the same
    thread count gives the same bits."""
    one = many_parameter_model()
    two = Model(list(one.parameters), one.regions, n_threads=2)
    data = one.toy({"mu": 1.2}, random_state=2)
    x = np.array([1.1, 0.9, 0.2, -0.3, 0.4, 0.1, -0.2, 0.3])
    u1, u2 = one.likelihood(data), two.likelihood(data)
    for curvature in ("hessian", "gauss_newton"):
        single, double = getattr(u1, curvature)(x), getattr(u2, curvature)(x)
        np.testing.assert_allclose(double, single, rtol=1e-12,
                                   atol=1e-12 * np.abs(single).max())
        np.testing.assert_array_equal(getattr(two.likelihood(data), curvature)(x), double)


def test_scan_with_quasi_newton_curvature_matches_independent_fits(surrogates):
    """A scan starts every point on the parabola through the last three solutions and
    carries a BFGS-corrected curvature along: its q agrees with fits of each point from the
    best fit, and it needs few curvature passes (measured: the best fit's Hessian alone
    for 11 points; with starts on the line through the last two, one Gauss-Newton restart
    where a step had to be shortened added 1 Hessian and 2 Gauss-Newton passes)."""
    model = make_model(surrogates)
    u = model.likelihood(model.toy({"mu": 1.2}, random_state=2))
    best = fit(u)
    grid = best["mu"] + best.errors["mu"] * np.linspace(-2.5, 2.5, 11)
    calls = {"hessian": 0, "gauss_newton": 0}
    for name in calls:
        original = getattr(u, name)

        def counted(vector, original=original, name=name):
            calls[name] += 1
            return original(vector)
        setattr(u, name, counted)
    scan = u.scan("mu", grid, best=best)
    assert calls["hessian"] + calls["gauss_newton"] <= 5 < grid.size
    independent = [fit(u, fixed={"mu": g}, start=best.vector, hesse=False).u for g in grid]
    np.testing.assert_allclose(scan.q, np.array(independent) - scan.best.u, atol=2e-5)
    given = u.hessian(best.vector).copy()
    fit(u, fixed={"mu": grid[0]}, start=best.vector, hessian=given)
    np.testing.assert_array_equal(given, u.hessian(best.vector))   # the caller's is kept
