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

    def evaluate(self, vector):
        """(f, f - 1, {index: df/dvalue}, {(i, j): d2f/didj})."""
        value = vector[self.index]
        return value, value - 1.0, {self.index: 1.0}, {}


class _BoundNormalization:
    def __init__(self, index, log_factor):
        self.index = index
        self.log_factor = log_factor

    def evaluate(self, vector):
        exponent = vector[self.index] * self.log_factor
        factor = np.exp(exponent)
        return (factor, np.expm1(exponent), {self.index: factor * self.log_factor},
                {(self.index, self.index): factor * self.log_factor ** 2})


class Rate:
    """The product of a process's modifiers, bound to a parameter set."""

    def __init__(self, modifiers, parameters):
        self.factors = [m.bind(parameters) for m in modifiers]

    @property
    def indices(self):
        return sorted({f.index for f in self.factors})

    def evaluate(self, vector):
        """Rate f, f - 1 (accurate when f is close to 1), gradient {i: df/dx_i} and second
        derivatives {(i, j): d2f/dx_i dx_j} (both orders of i != j present)."""
        value, minus_one, gradient, hessian = 1.0, 0.0, {}, {}
        for factor in self.factors:
            f, f_minus_one, f_gradient, f_hessian = factor.evaluate(vector)
            # Product rule for (value * f): second derivatives first, from the old gradient.
            new_hessian = {key: h * f for key, h in hessian.items()}
            for key, h in f_hessian.items():
                new_hessian[key] = new_hessian.get(key, 0.0) + value * h
            for i, g in gradient.items():
                for j, g_f in f_gradient.items():
                    for key in ((i, j), (j, i)):
                        new_hessian[key] = new_hessian.get(key, 0.0) + g * g_f
            gradient = {i: g * f for i, g in gradient.items()}
            for i, g in f_gradient.items():
                gradient[i] = gradient.get(i, 0.0) + g * value
            # (1 + a)(1 + b) - 1 = a + b + ab
            minus_one = minus_one + f_minus_one + minus_one * f_minus_one
            value, hessian = value * f, new_hessian
        return value, minus_one, gradient, hessian
