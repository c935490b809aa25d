"""bpt: boosted parametric and information trees for machine-learned likelihood ratios.

``BoostedParametricTree`` learns how nuisance parameters change the differential cross
section, ``log r(x|nu) = m(nu) . Delta(x)``, from samples simulated at a few base points.
"""
from .parametric import BoostedParametricTree
from .parametrization import Parametrization

__all__ = ["BoostedParametricTree", "Parametrization"]
__version__ = "0.1.0"
