"""Per-event ratio coefficients t from what event generators provide.

A generator reweighted to parameter points gives each event a weight w_i(theta). When the
dependence is polynomial at the chosen order (SMEFT at a fixed order in 1/Lambda^2),

    w_i(theta) = w_i(0) (1 + sum_A m_A(theta) t_iA),

and the BoostedInformationTree learns E[t_iA | x]. These helpers compute t_i from weights at
several points, or from derivatives of the weight at theta = 0.
"""
from math import factorial

import numpy as np

from ._input import as_rows, real_array
from .parametrization import Parametrization, nominal_points


def coefficients_from_weights(weights, theta_points, parametrization="quadratic",
                              parameter_names=None):
    """Solve ``w_i(theta_k) = w_i(0) (1 + m(theta_k) . t_i)`` for every event.

    Parameters
    ----------
    weights : array-like, shape (n_samples, n_points)
        Column k is each event's weight at ``theta_points[k]``.
    theta_points : array-like, shape (n_points, n_params) or (n_points,)
        Must include the reference point theta = 0. The other points must determine every
        term (with more points than terms, t is the least-squares solution per event).
    parametrization : str, int, list of tuples or Parametrization, default="quadratic"
    parameter_names : list of str, optional

    Returns
    -------
    reference_weights : ndarray, shape (n_samples,)
        w_i(0), the sample weights to fit with.
    t : ndarray, shape (n_samples, n_terms)

    Raises
    ------
    ValueError
        If theta = 0 is missing, if the points cannot determine the terms (the message
        names the undetermined combination), or if an event has zero reference weight but
        a non-zero weight elsewhere (its ratio is not defined).
    """
    points = as_rows(theta_points, "theta_points")
    weights = as_rows(weights, "weights")
    if weights.shape[1] != points.shape[0]:
        raise ValueError(f"weights has {weights.shape[1]} columns for {points.shape[0]} "
                         "theta_points")
    parametrization = Parametrization.from_spec(parametrization, n_params=points.shape[1],
                                                param_names=parameter_names)
    is_reference = nominal_points(points)
    if not is_reference.any():
        raise ValueError("theta_points must include the reference point theta = 0")
    reference = int(np.flatnonzero(is_reference)[0])
    others = np.flatnonzero(~is_reference)
    design = parametrization.design_matrix(points[others], "non-reference theta_points")
    reference_weights = weights[:, reference]
    zero = reference_weights == 0
    undefined = zero & (weights[:, others] != 0).any(axis=1)
    if undefined.any():
        raise ValueError(f"{undefined.sum()} events have zero weight at theta = 0 but not "
                         f"elsewhere (first: event {np.flatnonzero(undefined)[0]}); their "
                         "ratio to the reference is not defined")
    safe_reference = np.where(zero, 1.0, reference_weights)
    ratios = weights[:, others] / safe_reference[:, None] - 1.0
    ratios[zero] = 0.0
    t = ratios @ np.linalg.pinv(design).T
    return reference_weights, t


def coefficients_from_derivatives(weights, derivatives, parametrization="quadratic",
                                  parameter_names=None):
    """Coefficients from the Taylor expansion of each event's weight at theta = 0.

    Parameters
    ----------
    weights : array-like, shape (n_samples,)
        w_i(0).
    derivatives : array-like, shape (n_samples, n_terms)
        Column A holds the partial derivative of w_i matching term A of the
        parametrization: for ``theta_a`` the first derivative dw/dtheta_a, for
        ``theta_a^2`` the second derivative d^2w/dtheta_a^2, for ``theta_a*theta_b`` the
        mixed derivative d^2w/dtheta_a dtheta_b, and so on.
    parametrization, parameter_names
        As for :func:`coefficients_from_weights`; the number of parameters follows from the
        number of columns.

    Returns
    -------
    t : ndarray, shape (n_samples, n_terms)
        ``t_A = derivative_A / (w_i(0) prod_a e_Aa!)`` with e_A the exponents of term A: the
        coefficient of theta_a^2 is *half* the second derivative over w, that of
        theta_a theta_b the mixed derivative over w.
    """
    weights = real_array(weights, "weights").reshape(-1)
    derivatives = as_rows(derivatives, "derivatives", weights.shape[0])
    parametrization = Parametrization.from_spec(parametrization, param_names=parameter_names,
                                                n_terms=derivatives.shape[1])
    if not np.isfinite(weights).all():
        raise ValueError("weights contain NaN or infinite values")
    zero = weights == 0
    if (zero & (derivatives != 0).any(axis=1)).any():
        raise ValueError("events with zero weight at theta = 0 have non-zero derivatives; "
                         "their ratio to the reference is not defined")
    factorials = np.array([np.prod([factorial(int(e)) for e in row])
                           for row in parametrization.exponents], dtype=np.float64)
    t = derivatives / (np.where(zero, 1.0, weights)[:, None] * factorials)
    t[zero] = 0.0
    return t
