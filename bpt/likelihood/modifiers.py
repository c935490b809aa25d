"""Rate modifiers f_p(theta, nu): a process's yield scales with their product."""
import numpy as np


class Scale:
    """f = value of a parameter, e.g. a signal strength mu."""

    def __init__(self, parameter):
        self.parameter = parameter

    def bind(self, parameters):
        return _BoundScale(parameters.index(self.parameter))

    def __repr__(self):
        return f"Scale({self.parameter!r})"


class Normalization:
    """f = (1 + uncertainty)^nu: a log-normal normalization uncertainty.

    With a unit Gaussian constraint on nu, ``uncertainty=0.1`` is a 10% normalization
    uncertainty.
    """

    def __init__(self, parameter, uncertainty):
        if not uncertainty > -1:
            raise ValueError(f"Normalization({parameter!r}): the uncertainty must exceed -1")
        self.parameter = parameter
        self.uncertainty = float(uncertainty)

    def bind(self, parameters):
        return _BoundNormalization(parameters.index(self.parameter), np.log1p(self.uncertainty))

    def __repr__(self):
        return f"Normalization({self.parameter!r}, {self.uncertainty})"


class _BoundScale:
    def __init__(self, index):
        self.index = index


class _BoundNormalization:
    def __init__(self, index, log_factor):
        self.index = index
        self.log_factor = log_factor


class Rates:
    """The rates of a region's processes, as dense arrays over the parameters.

    Each rate is a product of scales (parameter values) and log-normal factors,
    ``f_p = prod_{s in scales_p} x_s * exp(kappa_p . x)``: the normalizations of every
    process are one matrix ``kappa`` (P, n), so hundreds of them cost one matrix-vector
    product per call.

    Parameters
    ----------
    modifier_lists : list of sequences of Scale or Normalization
        Per process, its rate modifiers.
    parameters : ParameterSet
    """

    def __init__(self, modifier_lists, parameters):
        self.n_processes, self.n_params = len(modifier_lists), len(parameters)
        self.log_factors = np.zeros((self.n_processes, self.n_params))
        self.scales = [[] for _ in modifier_lists]
        for p, modifiers in enumerate(modifier_lists):
            for modifier in modifiers:
                bound = modifier.bind(parameters)
                if isinstance(bound, _BoundScale):
                    self.scales[p].append(bound.index)
                elif isinstance(bound, _BoundNormalization):
                    self.log_factors[p, bound.index] += bound.log_factor
                else:
                    raise TypeError(f"unknown rate modifier {modifier!r}")
        self.indices = [sorted(set(np.flatnonzero(row)) | set(scales))
                        for row, scales in zip(self.log_factors, self.scales)]

    def evaluate(self, vector, with_hessian=False):
        """Rates f (P,), f - 1 (accurate when f is close to 1), df/dx (P, n) and, with
        ``with_hessian``, d2f/dx2 (P, n, n), else None."""
        exponent = self.log_factors @ vector
        factor, factor_m1 = np.exp(exponent), np.expm1(exponent)
        scale, scale_m1 = np.ones(self.n_processes), np.zeros(self.n_processes)
        scale_gradient = np.zeros((self.n_processes, self.n_params))
        for p, indices in enumerate(self.scales):
            for position, index in enumerate(indices):
                value = vector[index]
                # (1 + a)(1 + b) - 1 = a + b + ab
                scale_m1[p] = scale_m1[p] + (value - 1.0) + scale_m1[p] * (value - 1.0)
                scale[p] *= value
                others = np.prod([vector[j] for q, j in enumerate(indices) if q != position])
                scale_gradient[p, index] += others
        rate = scale * factor
        rate_m1 = scale_m1 * factor + factor_m1
        gradient = rate[:, None] * self.log_factors + factor[:, None] * scale_gradient
        if not with_hessian:
            return rate, rate_m1, gradient, None
        kappa = self.log_factors
        hessian = rate[:, None, None] * kappa[:, :, None] * kappa[:, None, :]
        cross = factor[:, None, None] * kappa[:, :, None] * scale_gradient[:, None, :]
        hessian += cross + cross.transpose(0, 2, 1)
        for p, indices in enumerate(self.scales):
            for a, i in enumerate(indices):
                for b, j in enumerate(indices):
                    if a != b:
                        hessian[p, i, j] += factor[p] * np.prod(
                            [vector[k] for q, k in enumerate(indices) if q not in (a, b)])
        return rate, rate_m1, gradient, hessian
