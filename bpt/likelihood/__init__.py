"""Unbinned profile-likelihood fits with tree surrogates.

Build a :class:`Model` from :class:`Parameter` objects and regions of processes, get data
(:meth:`Model.data`, :meth:`Model.asimov`, :meth:`Model.toy`), and minimize the statistic
u = -2 ln L + 2 ln L(reference) of :meth:`Model.likelihood`: fits, profile scans,
intervals, coverage studies and impacts.
"""
from .components import LogRatioSystematic, PoiDependence, Systematic
from .histfactory import HistFactoryWorkspace, interpolation_from_workspace, read_workspace
from .inference import FitResult, ScanResult, fit, profile_interval, profile_scan
from .model import BinCounts, Dataset, Model, ObservedEvents, WeightedSimulation
from .modifiers import Normalization, Scale
from .parameters import POI, Nuisance, Parameter
from .regions import (BinnedPoiDependence, BinnedProcess, BinnedRegion, BinnedSystematic,
                      Process, UnbinnedRegion)
from .statistic import NegativeLogLikelihood
from .studies import (CoverageResult, ImpactsResult, TruthCoverageResult, coverage, impacts,
                      surrogate_uncertainty, truth_coverage)

__all__ = ["BinCounts", "BinnedPoiDependence", "BinnedProcess", "BinnedRegion",
           "BinnedSystematic", "CoverageResult", "Dataset", "FitResult", "HistFactoryWorkspace",
           "ImpactsResult", "LogRatioSystematic", "Model", "NegativeLogLikelihood",
           "Normalization", "Nuisance", "ObservedEvents", "POI", "Parameter", "PoiDependence",
           "Process", "Scale", "ScanResult", "Systematic", "TruthCoverageResult",
           "UnbinnedRegion", "WeightedSimulation", "coverage", "fit", "impacts",
           "interpolation_from_workspace", "profile_interval", "profile_scan", "read_workspace",
           "surrogate_uncertainty", "truth_coverage"]
