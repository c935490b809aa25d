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

    def evaluate(self, vector, with_hessian=False):
        """Rates f (P,), f - 1 (accurate when f is close to 1), df/dx (P, n) and, with
        ``with_hessian``, d2f/dx2 (P, n, n), else None."""
        P, n = self.n_processes, self.n_params
        # The scales' product, factor by factor; f - 1 from (1 + a)(1 + b) - 1 = a + b + ab.
        scale = (np.ones(P), np.zeros((P, n)), np.zeros((P, n, n)) if with_hessian else None)
        scale_m1 = np.zeros(P)
        for slot in range(max(map(len, self.scales), default=0)):
            value, gradient = np.ones(P), np.zeros((P, n))
            for p, indices in enumerate(self.scales):
                if slot < len(indices):
                    value[p] = vector[indices[slot]]
                    gradient[p, indices[slot]] = 1.0
            scale_m1 = scale_m1 + (value - 1.0) + scale_m1 * (value - 1.0)
            scale = product_rule(scale, (value, gradient,
                                         np.zeros((P, n, n)) if with_hessian else None))
        kappa = self.log_factors
        exponent = kappa @ vector
        factor, factor_m1 = np.exp(exponent), np.expm1(exponent)
        lognormal = (factor, factor[:, None] * kappa,
                     factor[:, None, None] * kappa[:, :, None] * kappa[:, None, :]
                     if with_hessian else None)
        rate, gradient, hessian = product_rule(scale, lognormal)
        return rate, scale_m1 * factor + factor_m1, gradient, hessian


def product_rule(first, second):
    """The value, gradient and Hessian of a product of two factors given with theirs.

    Each factor is ``(value, gradient, hessian)`` with shapes ``(...)``, ``(..., n)`` and
    ``(..., n, n)``, leading axes (one factor per process, say) alike; the Hessians may be
    None (then the product's is None).
    """
    f, df, d2f = first
    g, dg, d2g = second
    f, g = np.asarray(f), np.asarray(g)
    value = f * g
    gradient = df * g[..., None] + f[..., None] * dg
    if d2f is None or d2g is None:
        return value, gradient, None
    outer = df[..., :, None] * dg[..., None, :]
    hessian = d2f * g[..., None, None] + f[..., None, None] * d2g + outer + np.swapaxes(outer,
                                                                                      -1, -2)
    return value, gradient, hessian
