"""Toy models whose true likelihood ratio is known analytically.

Every generator returns a :class:`Toy`: features, weights, the training target (the base
point of each event for the BoostedParametricTree, the ratio coefficients t for the
BoostedInformationTree) and the true log ratio as a function, so that tests, examples and
benchmarks can measure a surrogate against the truth.

BoostedParametricTree toys: :func:`sine_shape`, :func:`sine_cosine_2d` (two small
second-order effects), :func:`gaussian_mean_width`, and
:func:`coupled_nuisances` (two nuisances that do not factorize, with a cubic dependence that
the +-1 points do not see: the case where a HistFactory-style interpolation fails).

Process-fraction toy: :func:`process_mixture` (three processes with known g_p(x)).

BoostedInformationTree toys, events drawn at theta = 0 with unit weight:

- one parameter, linear term (t is the score d log r / d theta at 0; r itself is not
  polynomial): :func:`exponential`, :func:`power_law`, :func:`gaussian_mean`,
  :func:`gaussian_width`;
- exactly quadratic: :func:`quadratic_linear` (1 + theta x)^2, :func:`quadratic_sine`
  (1 + theta sin x)^2, and two parameters :func:`two_parameter_sine_cosine`
  (1 + theta1 sin x + theta2 cos x)^2.

All take ``n_noise_features``: extra N(0, 1) features that carry no information.

:mod:`bpt.toys.analysis` is a whole analysis built on such densities (signal, backgrounds,
an energy-scale nuisance) with its exact likelihood, for checking fits and coverage.
"""
from typing import Callable, NamedTuple, Optional

import numpy as np


class Toy(NamedTuple):
    """A simulated sample with known truth.

    Attributes
    ----------
    X : ndarray, shape (n_samples, n_features)
    weights : ndarray, shape (n_samples,)
    target : ndarray
        BPT toys: the base point of each event, shape (n_samples, n_params). BIT toys: the
        per-event coefficients t, shape (n_samples, n_terms).
    log_ratio : callable
        ``log_ratio(X, nu)``: the true log r(x|nu) for one point ``nu`` (n_params,),
        shape (n_samples,).
    coefficients : callable or None
        ``coefficients(X)``: the true Delta_A(x) (BPT) or t_A(x) (BIT), shape
        (n_samples, n_terms), for the parametrization the toy is meant for.
    base_points : ndarray, shape (K + 1, n_params), or None
        The BPT base points; None for BIT toys.
    """

    X: np.ndarray
    weights: np.ndarray
    target: np.ndarray
    log_ratio: Callable
    coefficients: Optional[Callable]
    base_points: np.ndarray

    def ratio(self, X, nu):
        """The true r(x|nu)."""
        return np.exp(self.log_ratio(X, nu))


def sine_shape(n_per_point, base_points=(0.0, 0.5, 1.0, 1.5), random_state=None):
    """One parameter changing the shape of a uniform feature: r(x|nu) = exp(nu sin x).

    x ~ U(-pi, pi) at every base point, each event weighted by exp(nu_k sin x). In the
    quadratic parametrization (nu, nu^2) the truth is Delta = (sin x, 0).
    """
    rng = np.random.default_rng(random_state)
    points = np.asarray(base_points, dtype=np.float64).reshape(-1, 1)
    x = rng.uniform(-np.pi, np.pi, size=(points.shape[0] * n_per_point, 1))
    nu = np.repeat(points, n_per_point, axis=0)
    weights = np.exp(nu[:, 0] * np.sin(x[:, 0]))

    def log_ratio(X, point):
        return float(np.ravel(point)[0]) * np.sin(X[:, 0])

    def coefficients(X):
        return np.column_stack([np.sin(X[:, 0]), np.zeros(X.shape[0])])

    return Toy(x, weights, nu, log_ratio, coefficients, points)


SINE_COSINE_BASE_POINTS = ((0, 0), (0.5, 0), (0, 0.5), (1, 0), (0, 1), (0.5, 0.5))


def sine_cosine_2d(n_per_point, base_points=SINE_COSINE_BASE_POINTS, shared_events=True,
                   random_state=None):
    """Two parameters whose effects mix: r(x|nu) = exp((nu0 sin x + nu1 cos(x/2))^2 / 4).

    x ~ U(-pi, pi), each event at base point k weighted by r(x|nu_k). With
    ``shared_events`` (default) every base point reuses the same ``n_per_point`` draws of
    x, as weight variations of one simulated sample do (``X`` repeats them once per base
    point; ``X[:n_per_point]`` with ``weights.reshape(K + 1, -1).T`` is the
    :meth:`~bpt.BoostedParametricTree.fit_weights` form); otherwise every base point has
    its own draws. Both effects are small and second order in nu, the regime where the
    validation loss is dominated by its own noise. The truth is exact in the quadratic parametrization (terms nu0, nu1, nu0^2,
    nu0*nu1, nu1^2): Delta = (0, 0, sin^2 x / 4, sin x cos(x/2) / 2, cos^2(x/2) / 4).
    """
    rng = np.random.default_rng(random_state)
    points = np.asarray(base_points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"base_points must have shape (K + 1, 2), got {points.shape}")
    if shared_events:
        x = np.tile(rng.uniform(-np.pi, np.pi, size=(n_per_point, 1)), (points.shape[0], 1))
    else:
        x = rng.uniform(-np.pi, np.pi, size=(points.shape[0] * n_per_point, 1))
    nu = np.repeat(points, n_per_point, axis=0)

    def log_ratio_rows(x, nu0, nu1):
        return (nu0 * np.sin(x) + nu1 * np.cos(x / 2)) ** 2 / 4

    def log_ratio(X, point):
        nu0, nu1 = np.ravel(point)
        return log_ratio_rows(X[:, 0], nu0, nu1)

    def coefficients(X):
        s, c = np.sin(X[:, 0]), np.cos(X[:, 0] / 2)
        zero = np.zeros(X.shape[0])
        return np.column_stack([zero, zero, s ** 2 / 4, s * c / 2, c ** 2 / 4])

    weights = np.exp(log_ratio_rows(x[:, 0], nu[:, 0], nu[:, 1]))
    return Toy(x, weights, nu, log_ratio, coefficients, points)


GAUSSIAN_BASE_POINTS = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1), (1, 1), (-1, -1))


def gaussian_mean_width(n_per_point, base_points=GAUSSIAN_BASE_POINTS, mean_shift=0.5,
                        width_scale=0.2, n_noise_features=1, random_state=None):
    """Two parameters: nu0 shifts the mean of x0, nu1 scales the width of x1.

    x0 ~ N(mean_shift * nu0, 1), x1 ~ N(0, (1 + width_scale * nu1)^2), and further
    N(0, 1) features that do not depend on nu. Every base point has the same number of
    (unweighted) events, so r is the density ratio:

        log r = mean_shift nu0 x0 - (mean_shift nu0)^2 / 2
                - log(sigma) - x1^2 / (2 sigma^2) + x1^2 / 2,   sigma = 1 + width_scale nu1.

    The nu0 part is exactly quadratic; the nu1 part is not, but a quadratic reproduces it
    at nu1 in {-1, 0, 1}, the values the default base points take.
    """
    rng = np.random.default_rng(random_state)
    points = np.asarray(base_points, dtype=np.float64)
    nu = np.repeat(points, n_per_point, axis=0)
    sigma = 1.0 + width_scale * nu[:, 1]
    if (sigma <= 0).any():
        raise ValueError("width_scale * nu1 must stay above -1")
    X = rng.normal(size=(nu.shape[0], 2 + n_noise_features))
    X[:, 0] += mean_shift * nu[:, 0]
    X[:, 1] *= sigma

    def log_ratio(X, point):
        nu0, nu1 = np.ravel(point)
        s = 1.0 + width_scale * nu1
        shift = mean_shift * nu0
        return (shift * X[:, 0] - shift ** 2 / 2 - np.log(s)
                - X[:, 1] ** 2 / (2 * s ** 2) + X[:, 1] ** 2 / 2)

    return Toy(X, np.ones(nu.shape[0]), nu, log_ratio, None, points)


COUPLED_BASE_POINTS = ((0, 0), (-1, 0), (-0.5, 0), (0.5, 0), (1, 0), (0, -1), (0, -0.5),
                       (0, 0.5), (0, 1), (1, 1), (-1, -1), (1, -1), (-1, 1))


def coupled_nuisances(n_per_point, base_points=COUPLED_BASE_POINTS, slope=(0.8, 0.6),
                      cross=0.8, cubic=1.0, n_noise_features=1, random_state=None):
    """Two nuisances that do not factorize, one of them cubic between its +-1 points.

    x0, x1 ~ U(-1, 1) at every base point (plus N(0, 1) noise features), each event
    weighted by the true ratio ``exp(log r(x|nu_k))`` with

        log r = slope0 nu0 x0 + slope1 nu1 x1 + cross nu0 nu1 x0 x1
                + cubic (nu0^3 - nu0) x0^2.

    The cross term makes the effects of nu0 and nu1 not factorize (log r(x|1, 1) differs
    from log r(x|1, 0) + log r(x|0, 1)); the cubic term vanishes at nu0 = -1, 0, +1, so a
    surrogate built from the +-1 variations alone cannot see it. The truth is exact in the
    cubic parametrization (``Parametrization(2, "cubic")``); :attr:`Toy.coefficients` gives
    it in that term order. The default base points (nominal first) include interior and
    mixed points, enough for the nine cubic terms.
    """
    rng = np.random.default_rng(random_state)
    points = np.asarray(base_points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"base_points must have shape (K + 1, 2), got {points.shape}")
    a0, a1 = slope
    nu = np.repeat(points, n_per_point, axis=0)
    X = _with_noise(rng.uniform(-1.0, 1.0, size=(nu.shape[0], 2)), n_noise_features, rng)

    def log_ratio_rows(X, nu0, nu1):
        x0, x1 = X[:, 0], X[:, 1]
        return (a0 * nu0 * x0 + a1 * nu1 * x1 + cross * nu0 * nu1 * x0 * x1
                + cubic * (nu0 ** 3 - nu0) * x0 ** 2)

    def log_ratio(X, point):
        nu0, nu1 = np.ravel(point)
        return log_ratio_rows(X, nu0, nu1)

    def coefficients(X):
        x0, x1 = X[:, 0], X[:, 1]
        zero = np.zeros(X.shape[0])
        # Terms nu0, nu1, nu0^2, nu0*nu1, nu1^2, nu0^3, nu0^2*nu1, nu0*nu1^2, nu1^3.
        return np.column_stack([a0 * x0 - cubic * x0 ** 2, a1 * x1, zero, cross * x0 * x1,
                                zero, cubic * x0 ** 2, zero, zero, zero])

    weights = np.exp(log_ratio_rows(X, nu[:, 0], nu[:, 1]))
    return Toy(X, weights, nu, log_ratio, coefficients, points)


class MixtureToy(NamedTuple):
    """Simulated processes with known process fractions.

    Attributes
    ----------
    X : ndarray, shape (n_samples, n_features)
    weights : ndarray, shape (n_samples,)
        Each process's weights sum to its yield.
    target : ndarray of int, shape (n_samples,)
        The process of each event (0 is the signal).
    fractions : callable
        ``fractions(X)``: the true g_p(x) = dsigma_p(x) / sum_q dsigma_q(x), shape
        (n_samples, n_processes).
    yields : ndarray, shape (n_processes,)
    """

    X: np.ndarray
    weights: np.ndarray
    target: np.ndarray
    fractions: Callable
    yields: np.ndarray


MIXTURE_MEANS = ((1.0, 1.0), (-0.5, 0.0), (0.0, -0.8))
MIXTURE_WIDTHS = (0.6, 1.0, 1.4)


def process_mixture(n_per_process, yields=(50.0, 400.0, 200.0), means=MIXTURE_MEANS,
                    widths=MIXTURE_WIDTHS, n_noise_features=1, random_state=None):
    """Processes p with features x ~ N(means[p], widths[p]^2 I) in two dimensions.

    Each process has ``n_per_process`` events with weights summing to ``yields[p]``, so
    ``g_p(x) = yields[p] phi_p(x) / sum_q yields[q] phi_q(x)`` with phi_p the Gaussian
    densities. Process 0 (the default signal) is narrow and small.
    """
    rng = np.random.default_rng(random_state)
    means = np.asarray(means, dtype=np.float64)
    widths = np.asarray(widths, dtype=np.float64)
    yields = np.asarray(yields, dtype=np.float64)
    if not (means.shape == (yields.size, 2) and widths.shape == (yields.size,)):
        raise ValueError("means (n_processes, 2), widths and yields (n_processes,) must agree")
    target = np.repeat(np.arange(yields.size), n_per_process)
    x = means[target] + widths[target, None] * rng.normal(size=(target.size, 2))
    X = _with_noise(x, n_noise_features, rng)
    weights = (yields / n_per_process)[target]

    def fractions(X):
        d2 = ((X[:, None, :2] - means[None, :, :]) ** 2).sum(axis=2)
        log_density = -0.5 * d2 / widths ** 2 - 2.0 * np.log(widths) + np.log(yields)
        log_density -= log_density.max(axis=1, keepdims=True)
        density = np.exp(log_density)
        return density / density.sum(axis=1, keepdims=True)

    return MixtureToy(X, weights, target, fractions, yields)


def _with_noise(x, n_noise_features, rng):
    x = np.asarray(x, dtype=np.float64).reshape(x.shape[0], -1)
    if n_noise_features:
        x = np.hstack([x, rng.normal(size=(x.shape[0], n_noise_features))])
    return x


def _score_toy(x, log_ratio_1d, score_1d, rng, n_noise_features):
    """A one-parameter, linear-term BIT toy from log r(x0|theta) and its score at 0."""
    X = _with_noise(x, n_noise_features, rng)

    def log_ratio(X, theta):
        return log_ratio_1d(X[:, 0], float(np.ravel(theta)[0]))

    def coefficients(X):
        return score_1d(X[:, 0])[:, None]

    return Toy(X, np.ones(X.shape[0]), coefficients(X), log_ratio, coefficients, None)


def exponential(n_samples, n_noise_features=0, random_state=None):
    """x ~ Exp(1); r(x|theta) = (1 + theta) exp(-theta x), score t(x) = 1 - x."""
    rng = np.random.default_rng(random_state)
    return _score_toy(rng.exponential(size=n_samples),
                      lambda x, th: np.log1p(th) - th * x, lambda x: 1.0 - x,
                      rng, n_noise_features)


def power_law(n_samples, index=3.0, n_noise_features=0, random_state=None):
    """x >= 1 with density (index - 1) x^-index; theta shifts the index.

    r(x|theta) = (index + theta - 1)/(index - 1) x^-theta, score t(x) = 1/(index - 1) - log x.
    """
    rng = np.random.default_rng(random_state)
    x = (1.0 - rng.random(n_samples)) ** (-1.0 / (index - 1.0))
    return _score_toy(x,
                      lambda x, th: np.log((index + th - 1) / (index - 1)) - th * np.log(x),
                      lambda x: 1.0 / (index - 1.0) - np.log(x), rng, n_noise_features)


def gaussian_mean(n_samples, n_noise_features=0, random_state=None):
    """x ~ N(0, 1); theta shifts the mean: r = exp(theta x - theta^2 / 2), t(x) = x."""
    rng = np.random.default_rng(random_state)
    return _score_toy(rng.normal(size=n_samples), lambda x, th: th * x - th ** 2 / 2,
                      lambda x: x, rng, n_noise_features)


def gaussian_width(n_samples, n_noise_features=0, random_state=None):
    """x ~ N(0, 1); theta scales the width, sigma = 1 + theta: t(x) = x^2 - 1."""
    rng = np.random.default_rng(random_state)
    return _score_toy(rng.normal(size=n_samples),
                      lambda x, th: -np.log1p(th) - x ** 2 / 2 * (1 / (1 + th) ** 2 - 1),
                      lambda x: x ** 2 - 1, rng, n_noise_features)


def _polynomial_toy(X, amplitudes, parametrization_terms):
    """A BIT toy with r = (1 + sum_a theta_a f_a(x))^2, exactly quadratic in theta.

    ``amplitudes(X)`` gives f (n_samples, n_params); the terms are the quadratic ones in the
    order of ``Parametrization(n_params, "quadratic")``.
    """

    def coefficients(X):
        f = amplitudes(X)
        return parametrization_terms(f)

    def log_ratio(X, theta):
        amplitude = 1.0 + amplitudes(X) @ np.ravel(np.asarray(theta, dtype=np.float64))
        with np.errstate(divide="ignore"):
            return 2.0 * np.log(np.abs(amplitude))

    return Toy(X, np.ones(X.shape[0]), coefficients(X), log_ratio, coefficients, None)


def _quadratic_terms(f):
    """Coefficients of (1 + theta . f)^2 - 1 in the terms theta_a, then theta_a theta_b (a<=b)."""
    n_params = f.shape[1]
    linear = [2.0 * f[:, a] for a in range(n_params)]
    quadratic = [(1.0 if a == b else 2.0) * f[:, a] * f[:, b]
                 for a in range(n_params) for b in range(a, n_params)]
    return np.column_stack(linear + quadratic)


def quadratic_linear(n_samples, n_noise_features=0, random_state=None):
    """x ~ U(-1, 1); r = (1 + theta x)^2: t = (2x, x^2)."""
    rng = np.random.default_rng(random_state)
    X = _with_noise(rng.uniform(-1, 1, n_samples)[:, None], n_noise_features, rng)
    return _polynomial_toy(X, lambda X: X[:, :1], _quadratic_terms)


def quadratic_sine(n_samples, n_noise_features=0, random_state=None):
    """x ~ U(-pi, pi); r = (1 + theta sin x)^2: t = (2 sin x, sin^2 x)."""
    rng = np.random.default_rng(random_state)
    X = _with_noise(rng.uniform(-np.pi, np.pi, n_samples)[:, None], n_noise_features, rng)
    return _polynomial_toy(X, lambda X: np.sin(X[:, :1]), _quadratic_terms)


def two_parameter_sine_cosine(n_samples, n_noise_features=0, random_state=None):
    """x ~ U(-pi, pi); r = (1 + theta1 sin x + theta2 cos x)^2.

    t = (2 sin x, 2 cos x, sin^2 x, 2 sin x cos x, cos^2 x) in the terms
    (theta1, theta2, theta1^2, theta1 theta2, theta2^2).
    """
    rng = np.random.default_rng(random_state)
    X = _with_noise(rng.uniform(-np.pi, np.pi, n_samples)[:, None], n_noise_features, rng)
    return _polynomial_toy(X, lambda X: np.column_stack([np.sin(X[:, 0]), np.cos(X[:, 0])]),
                           _quadratic_terms)
