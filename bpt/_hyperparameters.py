"""Declared constraints of the estimators' hyper-parameters, and the check that enforces them.

Each estimator lists its hyper-parameters in a table (name -> allowed values), as
scikit-learn's ``_parameter_constraints`` do (in a format of its own, under another name, so
that scikit-learn's validation never reads it); :func:`check_hyperparameters` checks an
estimator against its table and names the first argument that breaks it. A hyper-parameter
missing from the table is checked where it is interpreted (``parametrization`` by
:class:`~bpt.Parametrization`, ``n_jobs`` by the thread resolver).
"""
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Optional


@dataclass(frozen=True)
class Interval:
    """A number (an integer with ``integer=True``) between optional bounds; bools are not
    numbers here. ``open_low``/``open_high`` exclude the bound itself."""
    low: Optional[float] = None
    high: Optional[float] = None
    integer: bool = False
    open_low: bool = False
    open_high: bool = False

    def accepts(self, value):
        kind = Integral if self.integer else Real
        if not isinstance(value, kind) or isinstance(value, bool):
            return False
        if self.low is not None and not (value > self.low if self.open_low
                                         else value >= self.low):
            return False
        return self.high is None or (value < self.high if self.open_high
                                     else value <= self.high)

    def __str__(self):
        noun = "an integer" if self.integer else "a number"
        if self.low is not None and self.high is not None:
            return f"{noun} between {self.low} and {self.high}"
        if self.high is not None:
            return f"{noun} {'<' if self.open_high else '<='} {self.high}"
        if self.integer:
            return f"{noun} {'>' if self.open_low else '>='} {self.low}"
        if self.low == 0:
            return "a positive number" if self.open_low else "a non-negative number"
        return f"{noun} {'>' if self.open_low else '>='} {self.low}"


@dataclass(frozen=True)
class Options:
    """One of a few given values."""
    values: tuple

    def accepts(self, value):
        return value in self.values

    def __str__(self):
        shown = [repr(option) for option in self.values]
        return ", ".join(shown[:-1]) + " or " + shown[-1] if len(shown) > 1 else shown[0]


def check_hyperparameters(estimator, constraints):
    """Raise a ValueError naming the first hyper-parameter of ``estimator`` that none of its
    allowed values in ``constraints`` (name -> list of ``None``, Interval or Options)
    accepts."""
    for name, allowed in constraints.items():
        value = getattr(estimator, name)
        if not any(value is None if rule is None else rule.accepts(value) for rule in allowed):
            expected = " or ".join("None" if rule is None else str(rule) for rule in allowed)
            raise ValueError(f"{name} must be {expected}, got {value!r}")
