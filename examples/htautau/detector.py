"""Detector response, selection and features: truth objects -> reconstructed lepton + tau_h events.

The response, per event (Gaussian smearing with per-event random numbers that are drawn once,
so that copies of the same events at other energy scales differ only by the scales):

- light lepton: pT resolution 2% (electrons) or 1.5% (muons), directions exact;
- hadronic tau: pT resolution 10%, times the tau energy scale ``1 + 0.03 * tes``;
- jets (those not within Delta R < 0.4 of the lepton or the tau): pT resolution
  sqrt((1/sqrt(pT/GeV))^2 + 0.05^2), times the jet energy scale ``1 + 0.05 * jes``;
- missing transverse momentum: the neutrinos' minus the mismeasurement of every object above
  (so the energy scales propagate to it), plus a 10 GeV Gaussian soft term per component.

Selection: a lepton with pT > 25 GeV and |eta| < 2.4, a tau_h with pT > 25 GeV and
|eta| < 2.3, opposite charges, Delta R(lepton, tau) > 0.5. Jets count with pT > 30 GeV and
|eta| < 4.7. The features are listed in ``FEATURES``.
"""
from dataclasses import dataclass

import numpy as np

from .generation import MAX_JETS

TAU_SCALE = 0.03       # relative tau energy scale per unit of tes
JET_SCALE = 0.05       # relative jet energy scale per unit of jes
TAU_RESOLUTION = 0.10
LEPTON_RESOLUTION = {11: 0.02, 13: 0.015}
SOFT_MET = 10.0        # GeV per component
LEPTON_PT, LEPTON_ETA = 25.0, 2.4
TAU_PT, TAU_ETA = 25.0, 2.3
JET_PT, JET_ETA = 30.0, 4.7

FEATURES = ("m_vis",        # visible mass of lepton + tau_h
            "mt",           # transverse mass of lepton and missing momentum
            "tau_pt", "lepton_pt", "met",
            "pt_balance",   # (pT_tau - pT_lepton) / (pT_tau + pT_lepton)
            "pt_tautau",    # |pT(lepton) + pT(tau) + missing pT|
            "delta_r",      # Delta R(lepton, tau)
            "n_jets", "jet1_pt",
            "m_jj")         # dijet mass of the two leading jets (0 with fewer than two)


@dataclass
class DetectorNoise:
    """Standard normal numbers of the smearing, one set per event."""

    lepton: np.ndarray
    tau: np.ndarray
    jets: np.ndarray
    met: np.ndarray

    @classmethod
    def draw(cls, n_events, random_state):
        rng = np.random.default_rng(random_state)
        return cls(rng.standard_normal(n_events), rng.standard_normal(n_events),
                   rng.standard_normal((n_events, MAX_JETS)), rng.standard_normal((n_events, 2)))

    def subset(self, index):
        return DetectorNoise(self.lepton[index], self.tau[index], self.jets[index],
                             self.met[index])


@dataclass
class Selection:
    """Reconstructed events that pass the selection.

    Attributes
    ----------
    X : ndarray, shape (n_selected, len(FEATURES))
    index : ndarray of int, shape (n_selected,)
        Of each selected event in the truth sample.
    """

    X: np.ndarray
    index: np.ndarray


def _momentum(vectors):
    """(px, py, pz, E) of (pT, eta, phi, m) four-vectors (last axis)."""
    pt, eta, phi, m = np.moveaxis(vectors, -1, 0)
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    return np.stack([px, py, pz, np.sqrt(px ** 2 + py ** 2 + pz ** 2 + m ** 2)], axis=-1)


def _mass(p):
    return np.sqrt(np.maximum(p[..., 3] ** 2 - np.sum(p[..., :3] ** 2, axis=-1), 0.0))


def _delta_r(eta1, phi1, eta2, phi2):
    dphi = np.mod(phi1 - phi2 + np.pi, 2 * np.pi) - np.pi
    return np.hypot(eta1 - eta2, dphi)


def _scaled(vectors, factor):
    """Four-vectors with pT and mass multiplied by ``factor`` (the momentum scales)."""
    out = vectors.copy()
    out[..., 0] *= factor
    out[..., 3] *= factor
    return out


def reconstruct(truth, noise, tes=0.0, jes=0.0):
    """The selected events and their features at energy scales ``tes`` and ``jes``.

    Parameters
    ----------
    truth : TruthEvents
    noise : DetectorNoise
        One set per event of ``truth``.
    tes, jes : float
        Tau and jet energy scale nuisances (in units of their uncertainties).

    Returns
    -------
    Selection
    """
    if len(noise.lepton) != len(truth):
        raise ValueError(f"noise: {len(noise.lepton)} events for {len(truth)} truth events")
    lepton_resolution = np.where(truth.lepton_flavour == 11, LEPTON_RESOLUTION[11],
                                 LEPTON_RESOLUTION[13])
    lepton = _scaled(truth.lepton, 1 + lepton_resolution * noise.lepton)
    tau = _scaled(truth.tau, (1 + TAU_SCALE * tes) * np.maximum(1 + TAU_RESOLUTION * noise.tau,
                                                                0.1))
    jets_true = truth.jets
    present = jets_true[..., 0] > 0
    isolated = present & (
        _delta_r(jets_true[..., 1], jets_true[..., 2], truth.lepton[:, None, 1],
                 truth.lepton[:, None, 2]) > 0.4) & (
        _delta_r(jets_true[..., 1], jets_true[..., 2], truth.tau[:, None, 1],
                 truth.tau[:, None, 2]) > 0.4)
    with np.errstate(divide="ignore", invalid="ignore"):
        jet_resolution = np.where(present, np.sqrt(1 / np.maximum(jets_true[..., 0], 1.0)
                                                   + 0.05 ** 2), 0.0)
    jet_factor = (1 + JET_SCALE * jes) * np.maximum(1 + jet_resolution * noise.jets, 0.1)
    jets = _scaled(jets_true, np.where(isolated, jet_factor, 0.0))
    # Missing momentum: the neutrinos minus the mismeasured parts of the visible objects.
    met = truth.neutrinos + SOFT_MET * noise.met
    for measured, true_vectors in ((lepton, truth.lepton), (tau, truth.tau)):
        delta = _momentum(measured)[..., :2] - _momentum(true_vectors)[..., :2]
        met = met - delta
    jet_delta = (_momentum(jets)[..., :2] - _momentum(jets_true)[..., :2]) * isolated[..., None]
    met = met - jet_delta.sum(axis=1)

    passed = ((lepton[:, 0] > LEPTON_PT) & (np.abs(lepton[:, 1]) < LEPTON_ETA)
              & (tau[:, 0] > TAU_PT) & (np.abs(tau[:, 1]) < TAU_ETA)
              & (truth.lepton_charge * truth.tau_charge < 0)
              & (_delta_r(lepton[:, 1], lepton[:, 2], tau[:, 1], tau[:, 2]) > 0.5))
    index = np.flatnonzero(passed)
    lepton, tau, jets, met = lepton[index], tau[index], jets[index], met[index]
    good_jets = (jets[..., 0] > JET_PT) & (np.abs(jets[..., 1]) < JET_ETA)
    # Leading jets first among the good ones (smearing can reorder them).
    order = np.argsort(-np.where(good_jets, jets[..., 0], -1.0), axis=1)
    jets = np.take_along_axis(jets, order[..., None], axis=1)
    good_jets = np.take_along_axis(good_jets, order, axis=1)
    n_jets = good_jets.sum(axis=1)

    p_lepton, p_tau = _momentum(lepton), _momentum(tau)
    p_jets = _momentum(jets)
    met_pt = np.hypot(met[:, 0], met[:, 1])
    met_phi = np.arctan2(met[:, 1], met[:, 0])
    mt = np.sqrt(np.maximum(2 * lepton[:, 0] * met_pt * (1 - np.cos(lepton[:, 2] - met_phi)),
                            0.0))
    pt_tautau = np.hypot(p_lepton[:, 0] + p_tau[:, 0] + met[:, 0],
                         p_lepton[:, 1] + p_tau[:, 1] + met[:, 1])
    m_jj = np.where(n_jets >= 2, _mass(p_jets[:, 0] + p_jets[:, 1]), 0.0)
    X = np.column_stack([
        _mass(p_lepton + p_tau), mt, tau[:, 0], lepton[:, 0], met_pt,
        (tau[:, 0] - lepton[:, 0]) / (tau[:, 0] + lepton[:, 0]), pt_tautau,
        _delta_r(lepton[:, 1], lepton[:, 2], tau[:, 1], tau[:, 2]),
        n_jets.astype(np.float64), np.where(n_jets >= 1, jets[:, 0, 0], 0.0), m_jj])
    return Selection(X, index)
