"""An H->tautau (lepton + hadronic tau) analysis on Pythia 8 events.

gg -> H -> tautau against Z/gamma* -> tautau and ttbar, with the tau and jet energy scales
and the parton-shower scales as nuisances, and four fits of the signal strength (unbinned
with BPT surrogates, two binned ones, unbinned without nuisances). Needs the ``pythia``
extra (``pip install "bpt[pythia]"``). Run::

    python examples/htautau/run.py [--tiny] [--cache DIR] [--output DIR]
"""
