"""Toy models whose true likelihood ratio is known analytically.

Every generator returns a :class:`Toy`: features, weights, the training target (the base
point of each event for the BoostedParametricTree) and the true log ratio as a function,
so that tests, examples and benchmarks can measure a surrogate against the truth.
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
        BPT toys: the base point of each event, shape (n_samples, n_params).
    log_ratio : callable
        ``log_ratio(X, nu)``: the true log r(x|nu) for one point ``nu`` (n_params,),
        shape (n_samples,).
    coefficients : callable or None
        ``coefficients(X)``: the true Delta_A(x) (n_samples, n_terms) where the truth is
        exactly polynomial in the parametrization the toy is meant for.
    base_points : ndarray, shape (K + 1, n_params)
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
