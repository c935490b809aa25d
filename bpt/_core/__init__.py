"""The compiled core of bpt (built from src_cython/ by setup.py).

OpenMP threads that wait for work sleep rather than spin, unless ``OMP_WAIT_POLICY`` says
otherwise: on a machine busy with other processes a spinning thread takes the CPU that
the thread it waits for needs (measured: a default-threads fit 4.8x slower than one thread
with spinning waits, 1.2x with sleeping ones). The variable is read when the OpenMP runtime
starts, so it is set before the first extension module loads it.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
