"""Parameters of a likelihood model: names, reference values, bounds, constraints."""
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

CONSTRAINTS = ("gaussian", None)


@dataclass
class Parameter:
    """A parameter of interest or a nuisance parameter.

    Parameters
    ----------
    name : str
    nominal : float
        Value at the reference point of the model: every rate modifier is 1 and every
        surrogate ratio is 1 there (1 for a signal strength, 0 for a nuisance or a Wilson
        coefficient). Fits start from it.
    bounds : (float, float)
        Allowed range in fits.
    fixed : bool
        Held at ``nominal`` in fits unless a fit frees it explicitly.
    constraint : {"gaussian", None}
        ``"gaussian"`` adds ``((value - center) / width)^2`` to the statistic u (a unit
        Gaussian constraint gives ``nu^2``); the center is the global observable, ``nominal``
        unless a toy shifts it. None leaves the parameter unconstrained.
    width : float
        Width of the Gaussian constraint, and the prior uncertainty used for pre-fit impacts.
    poi : bool
        Whether this is a parameter of interest.
    """

    name: str
    nominal: float = 0.0
    bounds: Tuple[float, float] = (-np.inf, np.inf)
    fixed: bool = False
    constraint: Optional[str] = None
    width: float = 1.0
    poi: bool = False

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a parameter name must be a non-empty string, got {self.name!r}")
        if self.constraint not in CONSTRAINTS:
            raise ValueError(f"parameter {self.name!r}: constraint must be 'gaussian' or None, "
                             f"got {self.constraint!r}")
        if not (isinstance(self.nominal, (int, float, np.integer, np.floating))
                and np.isfinite(self.nominal)):
            raise ValueError(f"parameter {self.name!r}: nominal must be a finite number, got "
                             f"{self.nominal!r}")
        low, high = (float(b) for b in self.bounds)
        if not low < high or not low <= self.nominal <= high:
            raise ValueError(f"parameter {self.name!r}: bounds {self.bounds} must contain the "
                             f"nominal value {self.nominal}")
        if not (np.isfinite(self.width) and self.width > 0):
            raise ValueError(f"parameter {self.name!r}: width must be positive and finite, got "
                             f"{self.width!r}")
        self.bounds = (low, high)


def POI(name, nominal=1.0, bounds=(-np.inf, np.inf), fixed=False):
    """An unconstrained parameter of interest (a signal strength by default: nominal 1)."""
    return Parameter(name, nominal, bounds, fixed, constraint=None, poi=True)


def Nuisance(name, nominal=0.0, width=1.0, constrained=True, bounds=None, fixed=False):
    """A nuisance parameter, Gaussian-constrained by default, bounded to nominal ± 5 widths."""
    if not (isinstance(width, (int, float, np.integer, np.floating)) and np.isfinite(width)
            and width > 0):
        raise ValueError(f"Nuisance({name!r}): width must be a positive finite number, got "
                         f"{width!r}")
    if bounds is None:
        bounds = (nominal - 5 * width, nominal + 5 * width) if constrained else (-np.inf, np.inf)
    return Parameter(name, nominal, bounds, fixed, "gaussian" if constrained else None, width)


class ParameterSet:
    """The ordered parameters of a model, with vectorized constraint terms."""

    def __init__(self, parameters):
        self.parameters = list(parameters)
        self.names = [p.name for p in self.parameters]
        duplicated = {n for n in self.names if self.names.count(n) > 1}
        if duplicated:
            raise ValueError(f"parameter names must be unique, repeated: {sorted(duplicated)}")
        self.nominal = np.array([p.nominal for p in self.parameters], dtype=np.float64)
        self.bounds = np.array([p.bounds for p in self.parameters], dtype=np.float64).reshape(-1, 2)
        self.fixed = np.array([p.fixed for p in self.parameters], dtype=bool)
        self.constrained = np.array([p.constraint == "gaussian" for p in self.parameters])
        self.widths = np.array([p.width for p in self.parameters], dtype=np.float64)
        self.pois = [p.name for p in self.parameters if p.poi]

    def __len__(self):
        return len(self.parameters)

    def __iter__(self):
        return iter(self.parameters)

    def index(self, name):
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"unknown parameter {name!r}; the model has {self.names}") from None

    def __getitem__(self, name):
        return self.parameters[self.index(name)]

    def vector(self, values=None):
        """A full parameter vector: nominal values overridden by ``values`` (dict or array)."""
        vector = self.nominal.copy()
        if values is None:
            return vector
        if isinstance(values, dict):
            for name, value in values.items():
                vector[self.index(name)] = value
            return vector
        values = np.asarray(values, dtype=np.float64)
        if values.shape != vector.shape:
            raise ValueError(f"expected {len(vector)} parameter values {self.names}, got shape "
                             f"{values.shape}")
        return values.copy()

    def as_dict(self, vector):
        return {name: float(v) for name, v in zip(self.names, vector)}

    def constraint(self, vector, centers):
        """Sum of the Gaussian constraint terms and its gradient."""
        pull = np.where(self.constrained, (vector - centers) / self.widths, 0.0)
        return float(np.sum(pull ** 2)), np.where(self.constrained, 2 * pull / self.widths, 0.0)
