"""Default settings must not cost accuracy, and every input form must give the same model.

The closure bound: with default settings (early stopping "auto"), the RMS error against the
truth at every base point is at most 1.2 times that of the same fit with a fixed number of
trees (``early_stopping=False``). Under the earlier rule (stop after 10 trees without a lower
validation loss, keep the lowest) the 2D toy kept 1 tree at 20 000 events per point, with
errors 11 to 47 times those of 100 trees; now 100 trees are kept there.
"""
import numpy as np
import pytest

from bpt import BoostedInformationTree, BoostedParametricTree, toys
from bpt._stopping import validation_split
from bpt._statistics import EventStatistics

BPT_SETTINGS = dict(n_estimators=100, learning_rate=0.2, max_depth=3, min_samples_leaf=50)
CLOSURE_FACTOR = 1.2


def log_ratio_rms(model, test, points):
    return np.array([np.sqrt(np.mean((model.predict_log_ratio(test.X, p)
                                      - test.log_ratio(test.X, p)) ** 2)) for p in points])


def bpt_closure(train, test, parametrization, **settings):
    errors = []
    for early_stopping in ("auto", False):
        model = BoostedParametricTree(parametrization, early_stopping=early_stopping,
                                      random_state=0, **settings)
        model.fit(train.X, train.target, train.weights)
        errors.append(log_ratio_rms(model, test, train.base_points[1:]))
    return errors


def test_default_keeps_the_closure_of_fixed_trees_on_the_2d_toy():
    """The 2D toy with shared events: 0.0007 at (0.5, 0) with 100 trees."""
    train = toys.sine_cosine_2d(20_000, random_state=0)
    test = toys.sine_cosine_2d(10_000, base_points=[(0, 0)], random_state=1)
    default, fixed = bpt_closure(train, test, "quadratic", **BPT_SETTINGS)
    np.testing.assert_array_less(default, CLOSURE_FACTOR * fixed)
    assert fixed[0] < 0.002  # the fixed fit itself is good: the comparison is not vacuous


BPT_TOYS = {
    "sine_shape": (lambda seed: toys.sine_shape(20_000, random_state=seed), "quadratic"),
    "gaussian_mean_width": (lambda seed: toys.gaussian_mean_width(20_000, random_state=seed),
                            "quadratic"),
    "coupled_nuisances": (lambda seed: toys.coupled_nuisances(5000, random_state=seed),
                          "cubic"),
    "sine_cosine_2d": (lambda seed: toys.sine_cosine_2d(100_000, random_state=seed),
                       "quadratic"),
    "sine_cosine_2d_separate": (lambda seed: toys.sine_cosine_2d(
        20_000, shared_events=False, random_state=seed), "quadratic"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BPT_TOYS))
def test_default_keeps_the_closure_of_fixed_trees_on_every_bpt_toy(name):
    """Measured ratios default/fixed, worst base point: sine_shape 0.97, gaussian_mean_width
    1.00, coupled_nuisances 0.84, sine_cosine_2d 1.06, sine_cosine_2d_separate 0.73."""
    make, parametrization = BPT_TOYS[name]
    default, fixed = bpt_closure(make(0), make(1), parametrization)
    np.testing.assert_array_less(default, CLOSURE_FACTOR * fixed)


BIT_TOYS = ["exponential", "power_law", "gaussian_mean", "gaussian_width", "quadratic_linear",
            "quadratic_sine", "two_parameter_sine_cosine"]


def bit_closure(name, n_samples):
    train = getattr(toys, name)(n_samples, random_state=0)
    test = getattr(toys, name)(20_000, random_state=1)
    parametrization = "linear" if train.target.shape[1] == 1 else "quadratic"
    errors = []
    for early_stopping in ("auto", False):
        model = BoostedInformationTree(parametrization, early_stopping=early_stopping,
                                       random_state=0).fit(train.X, train.target, train.weights)
        errors.append(np.sqrt(np.mean((model.predict(test.X) - test.coefficients(test.X)) ** 2,
                                      axis=0)))
    return errors


def test_bit_default_keeps_the_closure_of_fixed_trees():
    default, fixed = bit_closure("quadratic_sine", 20_000)
    np.testing.assert_array_less(default, CLOSURE_FACTOR * fixed)


@pytest.mark.slow
@pytest.mark.parametrize("name", BIT_TOYS)
def test_bit_default_keeps_the_closure_of_fixed_trees_on_every_bit_toy(name):
    """Measured worst ratios default/fixed over the terms: 0.96 to 1.03."""
    default, fixed = bit_closure(name, 50_000)
    np.testing.assert_array_less(default, CLOSURE_FACTOR * fixed)


# ------------------------------------------------------------------ identical input forms

@pytest.fixture(scope="module")
def samples():
    toy = toys.sine_cosine_2d(3000, shared_events=False, random_state=3)
    n = 3000
    points = toy.base_points
    datasets = [(toy.X[k * n:(k + 1) * n], toy.weights[k * n:(k + 1) * n])
                for k in range(points.shape[0])]
    return toy, datasets, points


def fitted_forms(toy, datasets, points, early_stopping):
    def new():
        return BoostedParametricTree("quadratic", n_estimators=40, early_stopping=early_stopping,
                                     n_iter_no_change=3, random_state=7)

    one_hot = np.zeros((toy.X.shape[0], points.shape[0]))
    slot = np.repeat(np.arange(points.shape[0]), datasets[0][0].shape[0])
    one_hot[np.arange(slot.size), slot] = toy.weights
    # The base points in another order than fit sorts them into: the model must not care.
    shuffled = [3, 0, 5, 1, 4, 2]
    return {
        "fit": new().fit(toy.X, toy.target, toy.weights),
        "fit(datasets)": new().fit(datasets, points),
        "fit_datasets": new().fit_datasets(datasets, points),
        "fit_weights": new().fit_weights(toy.X, one_hot, points),
        "fit_weights, columns shuffled": new().fit_weights(toy.X, one_hot[:, shuffled],
                                                           points[shuffled]),
    }


@pytest.mark.parametrize("early_stopping", [True, False])
def test_every_input_form_gives_the_same_model(samples, early_stopping):
    toy, datasets, points = samples
    models = fitted_forms(toy, datasets, points, early_stopping)
    reference = models["fit"]
    if early_stopping:
        assert reference.validation_loss_.size > 1
    for name, model in models.items():
        assert model.n_iter_ == reference.n_iter_, name
        np.testing.assert_array_equal(model.base_points_, reference.base_points_, err_msg=name)
        np.testing.assert_array_equal(model.predict(toy.X), reference.predict(toy.X),
                                      err_msg=name)
        np.testing.assert_array_equal(model.validation_loss_, reference.validation_loss_,
                                      err_msg=name)


def test_fit_takes_dataframes_per_base_point(samples):
    pd = pytest.importorskip("pandas")
    toy, datasets, points = samples
    frames = [(pd.DataFrame(X, columns=["x"]), w) for X, w in datasets]
    model = BoostedParametricTree(n_estimators=10, random_state=0).fit(frames, points)
    same = BoostedParametricTree(n_estimators=10, random_state=0).fit(datasets, points)
    assert list(model.feature_names_in_) == ["x"]
    np.testing.assert_array_equal(model.predict(frames[0][0]), same.predict(datasets[0][0]))


def test_validation_split_depends_only_on_the_events():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 2))
    slots = np.repeat([0, 1], 1000)
    statistics = EventStatistics(2, weights=np.ones(2000), slots=slots)
    _, held_out = validation_split(X, statistics, 0.1, seed=5)
    permutation = rng.permutation(2000)
    _, held_out_permuted = validation_split(X[permutation],
                                            statistics.take(permutation), 0.1, seed=5)
    held = {tuple(row) for row in X[held_out]}
    assert held == {tuple(row) for row in X[permutation][held_out_permuted]}
    # Stratified: exactly 10% of every base point's events.
    np.testing.assert_array_equal(np.bincount(slots[held_out]), [100, 100])
    # Copies of an event at two base points (a weight variation) are held out together.
    copies = EventStatistics(2, weights=np.ones(2000), slots=slots)
    _, held_copies = validation_split(np.vstack([X[:1000], X[:1000]]), copies, 0.1, seed=5)
    np.testing.assert_array_equal(held_copies[held_copies < 1000] + 1000,
                                  held_copies[held_copies >= 1000])
    _, other_seed = validation_split(X, statistics, 0.1, seed=6)
    assert not np.array_equal(held_out, other_seed)


@pytest.mark.parametrize("call, message", [
    (lambda m, X, nu: m.fit(X[:, 0], nu), "fit(datasets, nu_points) or fit_datasets"),
    (lambda m, X, nu: m.fit(X, nu[:-5]), "fit(datasets, nu_points) or fit_datasets"),
    (lambda m, X, nu: m.fit([X[:50], X[50:]], [0.0, 1.0], np.ones(100)), "(X, weights) pair"),
    (lambda m, X, nu: m.fit_datasets([X[:50], X[50:]], [0.0]), "one base point per dataset"),
    (lambda m, X, nu: m.fit_datasets(X, nu), "fit(X, nu, sample_weight)"),
    (lambda m, X, nu: m.fit_weights(X, np.ones((100, 3)), [0.0, 1.0]), "fit_datasets"),
])
def test_shape_errors_name_the_other_input_forms(call, message):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    nu = np.repeat([0.0, 1.0], 50)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(BoostedParametricTree(n_estimators=2), X, nu)


# ------------------------------------------------------------- choosing the order in nu

def test_compare_parametrizations_finds_the_cubic_term():
    """coupled_nuisances has a cubic term (nu0^3 - nu0) x0^2, invisible at nu0 = +-1.

    Measured worst held-out chi2/ndf (5000 events per point, toy seeds 0, 1, 2, every
    candidate on the same bins): quadratic 2.14-2.80, cubic 1.51-1.96 (the worst points of
    the quadratic are nu0 = +-0.5).
    """
    from bpt import compare_parametrizations

    toy = toys.coupled_nuisances(5000, random_state=0)
    result = compare_parametrizations(toy.X, toy.target, toy.weights,
                                      parametrizations=["quadratic", "cubic", 4])
    assert result.parametrizations[result.best] == "cubic"
    assert result.chi2_per_ndf[0] > 1.25 * result.chi2_per_ndf[1]
    assert result.errors[2] is not None and "cannot determine the 14 terms" in result.errors[2]
    assert np.isnan(result.chi2_per_ndf[2])
    assert "<- best" in str(result)


# ------------------------------------------------------------------- process fractions

def test_fraction_information_against_the_truth():
    from bpt import fraction_information

    toy = toys.process_mixture(3000, random_state=0)
    truth = toy.fractions(toy.X)
    exact = fraction_information(truth, truth, toy.weights)
    np.testing.assert_allclose(exact.captured, 1.0)
    np.testing.assert_allclose(exact.calibration, 1.0)
    # Blurred towards equal shares: information is lost, and the fit claims less than it has
    # only if the blur is calibrated; a sharpened (over-confident) estimate claims more.
    blurred = 0.7 * truth + 0.3 / 3
    result = fraction_information(blurred, truth, toy.weights)
    w = toy.weights
    expected = (w @ (blurred * truth)) ** 2 / ((w @ blurred ** 2) * (w @ truth ** 2))
    np.testing.assert_allclose(result.captured, expected)
    assert (result.captured < 0.999).all()
    sharpened = truth ** 2 / (truth ** 2).sum(axis=1, keepdims=True)
    assert (fraction_information(sharpened, truth, w).calibration[[0, 2]] > 1.0).all()
    with pytest.raises(ValueError, match="same shape"):
        fraction_information(truth[:, :2], truth)


@pytest.fixture(scope="module")
def fraction_chain():
    """The toy analysis with true and with learned fractions (about 50 000 simulated
    events per process, ProcessFractions with default settings)."""
    from bpt import ProcessFractions
    from bpt.toys.analysis import ToyAnalysis

    analysis = ToyAnalysis()
    surrogates = analysis.fit_energy_scale()
    X, process, weights = analysis.fraction_training_sample()
    learned = ProcessFractions(signal=0, random_state=0).fit(X, process, weights)
    return (analysis.unbinned_model(surrogates),
            analysis.unbinned_model(surrogates, fractions=learned.predict_fractions))


@pytest.mark.slow
def test_learned_fractions_keep_the_interval_width(fraction_chain):
    """Measured: the Asimov 68% interval on mu is 1.0023 times as wide as with the true
    fractions (0.32867 vs 0.32793); the held-out calibration used before gave 0.9696, no
    calibration 0.9583."""
    exact_model, learned_model = fraction_chain

    def width(model):
        lo, hi = model.likelihood(model.asimov({"mu": 1.0})).interval("mu", 0.68)
        return hi - lo

    assert abs(width(learned_model) / width(exact_model) - 1) < 0.01


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="target missed: measured |mu_hat - 1.5| = 3.5e-3 "
                   "(1.95e-2 with the held-out calibration used before); over three training "
                   "samples x two classifier seeds mu_hat = 1.4965 1.5017 1.5093 1.5053 "
                   "1.4985 1.4991: the fraction estimator's own statistical spread (4.5e-3) "
                   "exceeds 1e-3 at 60 000 events per process")
def test_learned_fractions_recover_mu_on_asimov_data_of_the_truth(fraction_chain):
    """Asimov data of the true model at mu = 1.5, fitted with the learned fractions. (At
    the nominal point mu = 1 the recovery is exact for any fractions: R = sum_p g_p = 1.)"""
    exact_model, learned_model = fraction_chain
    mu_hat = learned_model.likelihood(exact_model.asimov({"mu": 1.5})).fit().values["mu"]
    assert abs(mu_hat - 1.5) < 1e-3, mu_hat
