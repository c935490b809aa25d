"""Checks of the arrays users pass in, with errors that name the argument and the problem."""
import numpy as np


def real_array(values, name):
    """``values`` as a float64 array; complex or non-numeric input is an error."""
    values = np.asarray(values)
    if np.iscomplexobj(values):
        raise ValueError(f"{name} must be real, got complex values")
    try:
        return values.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric, got an array of {values.dtype}") from None


def require_target(estimator, y, meaning):
    if y is None:
        raise ValueError(f"{type(estimator).__name__} requires y to be passed, but the target "
                         f"y is None: pass {meaning}")
    return y


def as_rows(values, name, n_rows=None):
    """A finite 2-d array: 1-d input becomes one column."""
    values = real_array(values, name)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or values.shape[0] == 0:
        raise ValueError(f"{name} must have shape (n,) or (n, k), got {values.shape}")
    if n_rows is not None and values.shape[0] != n_rows:
        raise ValueError(f"{name} has {values.shape[0]} rows but X has {n_rows} samples")
    if not np.isfinite(values).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return values


def check_weights(sample_weight, n_samples, name="sample_weight"):
    if sample_weight is None:
        return np.ones(n_samples)
    weights = real_array(sample_weight, name)
    if weights.shape != (n_samples,):
        raise ValueError(f"{name} must have shape ({n_samples},), got {weights.shape}")
    if not np.isfinite(weights).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return weights
