"""Ratio coefficients from weights at parameter points and from weight derivatives."""
import numpy as np
import pytest

from bpt import Parametrization, coefficients_from_derivatives, coefficients_from_weights, toys


@pytest.fixture(scope="module")
def toy():
    return toys.two_parameter_sine_cosine(500, random_state=0)


def amplitudes(toy):
    return np.column_stack([np.sin(toy.X[:, 0]), np.cos(toy.X[:, 0])])


def weights_at(toy, points, w0):
    """w(theta) = w0 (1 + theta . f)^2 for every point."""
    return w0[:, None] * (1 + amplitudes(toy) @ np.asarray(points, dtype=float).T) ** 2


def test_from_weights_recovers_exact_coefficients(toy):
    rng = np.random.default_rng(1)
    w0 = rng.uniform(0.5, 2.0, toy.X.shape[0])
    points = [[0, 0], [1, 0], [0, 1], [2, 0], [1, 1], [0, 2]]
    reference, t = coefficients_from_weights(weights_at(toy, points, w0), points, "quadratic")
    np.testing.assert_allclose(reference, w0)
    np.testing.assert_allclose(t, toy.target, atol=1e-10)
    # More points than terms: the least-squares solution, exact for exact weights.
    more = points + [[-1, 0], [0.5, -0.5], [-2, 1]]
    _, t = coefficients_from_weights(weights_at(toy, more, w0), more, "quadratic")
    np.testing.assert_allclose(t, toy.target, atol=1e-10)


def test_from_weights_names_undetermined_terms(toy):
    points = [[0, 0], [1, 0], [0, 1], [2, 0], [0, 2], [-1, 0]]  # nu0*nu1 never varies
    with pytest.raises(ValueError, match=r"undetermined combination\(s\): \+1\*nu0\*nu1"):
        coefficients_from_weights(weights_at(toy, points, np.ones(500)), points)


def test_from_weights_needs_the_reference_point(toy):
    points = [[1, 0], [0, 1], [2, 0], [1, 1], [0, 2]]
    with pytest.raises(ValueError, match="must include the reference point theta = 0"):
        coefficients_from_weights(weights_at(toy, points, np.ones(500)), points)


def test_from_weights_rejects_undefined_ratios(toy):
    points = [[0, 0], [1, 0], [0, 1], [2, 0], [1, 1], [0, 2]]
    weights = weights_at(toy, points, np.ones(500))
    weights[7, 0] = 0.0
    with pytest.raises(ValueError, match="1 events have zero weight at theta = 0"):
        coefficients_from_weights(weights, points)


def test_from_derivatives_convention(toy):
    """w = w0 (1 + theta . f)^2: dw/dtheta_a = 2 w0 f_a, d2w/dtheta_a2 = 2 w0 f_a^2,
    d2w/dtheta_1 dtheta_2 = 2 w0 f_1 f_2. t for theta_a^2 is half the second derivative."""
    w0 = np.random.default_rng(2).uniform(0.5, 2.0, toy.X.shape[0])
    f = amplitudes(toy)
    derivatives = np.column_stack([2 * w0 * f[:, 0], 2 * w0 * f[:, 1], 2 * w0 * f[:, 0] ** 2,
                                   2 * w0 * f[:, 0] * f[:, 1], 2 * w0 * f[:, 1] ** 2])
    t = coefficients_from_derivatives(w0, derivatives, "quadratic")
    np.testing.assert_allclose(t, toy.target, atol=1e-12)
    cubic = Parametrization(1, "cubic")
    # w = w0 (1 + theta)^3: derivatives 3, 6, 6 -> coefficients 3, 3, 1.
    np.testing.assert_allclose(coefficients_from_derivatives([2.0], [[6.0, 12.0, 12.0]], cubic),
                               [[3.0, 3.0, 1.0]])


def test_from_derivatives_errors():
    with pytest.raises(ValueError, match="do not match any number of parameters"):
        coefficients_from_derivatives(np.ones(3), np.ones((3, 4)), "quadratic")
    with pytest.raises(ValueError, match="zero weight at theta = 0 have non-zero derivatives"):
        coefficients_from_derivatives([0.0, 1.0], [[1.0, 0.0], [1.0, 1.0]], "quadratic")
