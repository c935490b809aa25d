"""Event generation with Pythia 8: truth-level objects of H->tautau, Z->tautau and ttbar, cached.

Each process is generated with fixed seeds, multiparton interactions off, Pythia's own tau
decays (its isotropic model, ``TauDecays:mode = 0``: without the tau polarization, which
the default model takes from the hard process at a tenth of the speed) and parton-shower weight
variations (``UncertaintyBands``: ISR and FSR renormalization scale times 2 and 1/2). Per
event only what the detector response needs is kept: the visible hadronic tau, the
light lepton (from a tau or, in ttbar, a W), the neutrinos of those decays (the true missing
transverse momentum), the anti-kT R = 0.4 jets of all visible particles (Pythia's
``SlowJet``) and the shower weights. Events without a hadronic tau and a light lepton of
at least 15 GeV within |eta| < 2.5 are counted but not stored. Chunks of events are
cached as ``.npz`` files, named by process, seed and size, so a rerun reads them back.
"""
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_JETS = 6
PRESELECTION_PT = 15.0
PRESELECTION_ETA = 2.5

# Shower variations: nu = +1 multiplies the renormalization scale of the emissions by 2,
# nu = -1 by 1/2 (muRfac = 2**nu).
VARIATIONS = {"isr": ("isrUp", "isrDown"), "fsr": ("fsrUp", "fsrDown")}
VARIATION_LIST = ("{isrUp isr:muRfac=2.0, isrDown isr:muRfac=0.5, "
                  "fsrUp fsr:muRfac=2.0, fsrDown fsr:muRfac=0.5}")
WEIGHT_NAMES = ("nominal", "isrUp", "isrDown", "fsrUp", "fsrDown")

COMMON_SETTINGS = (
    "Beams:eCM = 13000.",
    "PartonLevel:MPI = off",
    # Pythia's isotropic tau decays: its spin-correlated decay model (TauDecays:mode = 1,
    # the default) ran at 50 Z -> tautau events/s on one core against 455 with this one.
    "TauDecays:mode = 0",
    "UncertaintyBands:doVariations = on",
    f"UncertaintyBands:List = {VARIATION_LIST}",
    "Print:quiet = on",
    "Next:numberCount = 0",
    "Random:setSeed = on",
)

PROCESS_SETTINGS = {
    # gg -> H(125) -> tau tau
    "htautau": ("HiggsSM:gg2H = on", "25:m0 = 125.0", "25:onMode = off",
                "25:onIfMatch = 15 -15"),
    # q qbar -> Z/gamma* -> tau tau, m(tau tau) > 60 GeV
    "ztautau": ("WeakSingleBoson:ffbar2gmZ = on", "PhaseSpace:mHatMin = 60.",
                "23:onMode = off", "23:onIfMatch = 15 -15"),
    # t tbar with leptonic W decays (e, mu, tau)
    "ttbar": ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on", "24:onMode = off",
              "24:onIfAny = 11 13 15"),
}
PROCESSES = tuple(PROCESS_SETTINGS)


@dataclass
class TruthEvents:
    """Truth-level objects of the stored events of one process.

    Four-vectors are (pT, eta, phi, mass) in GeV.

    Attributes
    ----------
    lepton : ndarray, shape (n, 4)
        The leading light lepton (e or mu) from a tau or W decay.
    lepton_charge, lepton_flavour : ndarray, shape (n,)
        Charge (+-1) and |PDG id| (11 or 13).
    tau : ndarray, shape (n, 4)
        Visible decay products of the leading hadronically decaying tau.
    tau_charge : ndarray, shape (n,)
    neutrinos : ndarray, shape (n, 2)
        (px, py) of the neutrinos of the tau and W decays: the true missing momentum.
    jets : ndarray, shape (n, MAX_JETS, 4)
        Anti-kT R = 0.4 jets of all visible particles with pT > 15 GeV and |eta| < 4.7,
        leading first, padded with zeros; they include the lepton and tau, which the
        detector response removes by angular matching.
    weights : ndarray, shape (n, 5)
        Shower weights in the order of ``WEIGHT_NAMES`` (nominal first).
    n_generated : int
        Events generated, stored or not.
    weight_sums : ndarray, shape (5,)
        Sum of each weight over all generated events.
    seconds : float
        Generation time.
    """

    lepton: np.ndarray
    lepton_charge: np.ndarray
    lepton_flavour: np.ndarray
    tau: np.ndarray
    tau_charge: np.ndarray
    neutrinos: np.ndarray
    jets: np.ndarray
    weights: np.ndarray
    n_generated: int
    weight_sums: np.ndarray
    seconds: float

    ARRAYS = ("lepton", "lepton_charge", "lepton_flavour", "tau", "tau_charge", "neutrinos",
              "jets", "weights")

    def __len__(self):
        return len(self.lepton)

    def subset(self, index):
        """The events at ``index`` (the generated count and sums are kept)."""
        return TruthEvents(**{name: getattr(self, name)[index] for name in self.ARRAYS},
                           n_generated=self.n_generated, weight_sums=self.weight_sums,
                           seconds=self.seconds)

    @classmethod
    def concatenate(cls, parts):
        return cls(**{name: np.concatenate([getattr(p, name) for p in parts])
                      for name in cls.ARRAYS},
                   n_generated=sum(p.n_generated for p in parts),
                   weight_sums=np.sum([p.weight_sums for p in parts], axis=0),
                   seconds=sum(p.seconds for p in parts))

    def save(self, path):
        np.savez_compressed(path, n_generated=self.n_generated, weight_sums=self.weight_sums,
                            seconds=self.seconds,
                            **{name: getattr(self, name) for name in self.ARRAYS})

    @classmethod
    def load(cls, path):
        with np.load(path) as stored:
            return cls(**{name: stored[name] for name in cls.ARRAYS},
                       n_generated=int(stored["n_generated"]),
                       weight_sums=stored["weight_sums"], seconds=float(stored["seconds"]))


def _four_vector(particle):
    return (particle.pT(), particle.eta(), particle.phi(), particle.m())


def _visible_sum(event, indices):
    """(pT, eta, phi, m) of the sum of the particles at ``indices``."""
    import pythia8mc
    total = pythia8mc.Vec4()
    for i in indices:
        total += event[i].p()
    return (total.pT(), total.eta(), total.phi(), total.mCalc())


def _decay_products(event, index):
    """The direct daughters of the last copy of the particle at ``index``."""
    last = event[index].iBotCopyId()
    return last, list(event[last].daughterList())


RESONANCES = (6, 23, 24, 25)


def _resonance_leptons(event, index, found):
    """Append to ``found`` the leptons and neutrinos among the decay products of the
    resonance at ``index`` (following t -> W b and the shower copies)."""
    _, products = _decay_products(event, index)
    for j in products:
        idabs = event[j].idAbs()
        if idabs in RESONANCES:
            _resonance_leptons(event, j, found)
        elif 11 <= idabs <= 16:
            found.append(event[j].iBotCopyId())


def _truth_objects(event, n_hard):
    """Leptons, hadronic taus and neutrinos of the decays of the hard process's resonances.

    Returns lists of (four-vector, charge, flavour) for light leptons and (four-vector,
    charge) for hadronic taus, and the (px, py) sum of the neutrinos."""
    found = []
    for i in range(1, n_hard):
        if event[i].idAbs() in RESONANCES and event[event[i].mother1()].idAbs() not in \
                RESONANCES:
            _resonance_leptons(event, i, found)
    leptons, taus = [], []
    px = py = 0.0
    for i in found:
        idabs = event[i].idAbs()
        if idabs in (12, 14, 16):
            px += event[i].px()
            py += event[i].py()
        elif idabs in (11, 13):
            leptons.append((_four_vector(event[i]), event[i].charge(), idabs))
        else:
            products = list(event[i].daughterList())
            ids = [event[j].idAbs() for j in products]
            for j, idj in zip(products, ids):
                if idj in (12, 14, 16):
                    px += event[j].px()
                    py += event[j].py()
                elif idj in (11, 13):
                    leptons.append((_four_vector(event[j]), event[j].charge(), idj))
            if not any(idj in (11, 13) for idj in ids):
                visible = [j for j, idj in zip(products, ids) if idj not in (12, 14, 16)]
                taus.append((_visible_sum(event, visible), event[i].charge()))
    return leptons, taus, (px, py)


def _passes_preselection(vector):
    return vector[0] > PRESELECTION_PT and abs(vector[1]) < PRESELECTION_ETA


def generate(process, n_events, seed):
    """Generate ``n_events`` of ``process`` with Pythia and keep the preselected events.

    Parameters
    ----------
    process : {"htautau", "ztautau", "ttbar"}
    n_events : int
        Events to generate.
    seed : int
        Pythia's random seed (1 to 900 000 000).

    Returns
    -------
    TruthEvents
    """
    import pythia8mc
    if process not in PROCESS_SETTINGS:
        raise ValueError(f"process must be one of {PROCESSES}, got {process!r}")
    if not 1 <= seed <= 900_000_000:
        raise ValueError(f"seed must be in 1..900000000 (Pythia's range), got {seed}")
    tic = time.perf_counter()
    pythia = pythia8mc.Pythia("", False)
    for setting in COMMON_SETTINGS + PROCESS_SETTINGS[process] + (f"Random:seed = {seed}",):
        if not pythia.readString(setting):
            raise RuntimeError(f"Pythia refused the setting {setting!r}")
    if not pythia.init():
        raise RuntimeError(f"Pythia failed to initialize for {process!r}")
    info = pythia.infoPython()
    names = [info.weightNameByIndex(i) for i in range(info.numberOfWeights())]
    columns = [0] + [_weight_column(names, name) for name in WEIGHT_NAMES[1:]]
    jet_finder = pythia8mc.SlowJet(-1, 0.4, PRESELECTION_PT, 4.7, 2, 1)
    rows = {name: [] for name in TruthEvents.ARRAYS}
    weight_sums = np.zeros(len(WEIGHT_NAMES))
    n_generated = 0
    while n_generated < n_events:
        if not pythia.next():
            continue
        n_generated += 1
        weights = np.array([info.weightValueByIndex(c) for c in columns])
        weights = weights / weights[0]
        weight_sums += weights
        event = pythia.event
        leptons, taus, neutrinos = _truth_objects(event, pythia.process.size())
        leptons = [lep for lep in leptons if _passes_preselection(lep[0])]
        taus = [tau for tau in taus if _passes_preselection(tau[0])]
        if not leptons or not taus:
            continue
        lepton = max(leptons, key=lambda lep: lep[0][0])
        tau = max(taus, key=lambda t: t[0][0])
        jet_finder.analyze(event)
        jets = np.zeros((MAX_JETS, 4))
        for k in range(min(jet_finder.sizeJet(), MAX_JETS)):
            jets[k] = (jet_finder.pT(k), jet_finder.p(k).eta(), jet_finder.phi(k),
                       jet_finder.m(k))
        rows["lepton"].append(lepton[0])
        rows["lepton_charge"].append(lepton[1])
        rows["lepton_flavour"].append(lepton[2])
        rows["tau"].append(tau[0])
        rows["tau_charge"].append(tau[1])
        rows["neutrinos"].append(neutrinos)
        rows["jets"].append(jets)
        rows["weights"].append(weights)
    shapes = {"lepton": (0, 4), "tau": (0, 4), "neutrinos": (0, 2), "jets": (0, MAX_JETS, 4),
              "weights": (0, len(WEIGHT_NAMES))}
    arrays = {name: (np.array(values, dtype=np.float64) if values
                     else np.zeros(shapes.get(name, (0,))))
              for name, values in rows.items()}
    return TruthEvents(**arrays, n_generated=n_generated, weight_sums=weight_sums,
                       seconds=time.perf_counter() - tic)


def _weight_column(names, name):
    """Index of Pythia's weight ``name`` (Pythia reports the names in lower case)."""
    matches = [i for i, full in enumerate(names) if full.lower() == name.lower()]
    if len(matches) != 1:
        raise RuntimeError(f"shower weight {name!r} not found among Pythia's weights {names}")
    return matches[0]


def cached_events(process, n_events, seed, cache, chunk=20_000, log=print):
    """The events of ``process``, generated in chunks of ``chunk`` or read from ``cache``.

    Chunk ``k`` uses the Pythia seed ``seed + k``; a cached chunk is reused when its
    process, seed and size match.
    """
    cache = Path(cache).expanduser()
    cache.mkdir(parents=True, exist_ok=True)
    parts = []
    for k, start in enumerate(range(0, n_events, chunk)):
        size = min(chunk, n_events - start)
        path = cache / f"{process}_seed{seed + k}_n{size}.npz"
        if path.exists():
            parts.append(TruthEvents.load(path))
            continue
        part = generate(process, size, seed + k)
        part.save(path)
        log(f"  generated {process}: {size} events, {len(part)} preselected, "
            f"{part.seconds:.1f} s ({size / part.seconds:.0f} events/s) -> {path.name}")
        parts.append(part)
    return TruthEvents.concatenate(parts)
