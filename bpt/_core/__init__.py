"""The compiled core of bpt (built from src_cython/ by setup.py).

OpenMP threads that wait for work spin for a short time, then sleep, unless
``OMP_WAIT_POLICY`` or the runtime's own variable says otherwise. A fit opens about a
dozen parallel regions per tree with a little Python between them; a thread that slept
takes about 40 us to wake (2-core virtual machine), and one that spins through such gaps
makes a default-threads fit 15-25% faster than with sleeping waits. The spin is bounded
(``GOMP_SPINCOUNT=30000``, about 0.75 ms, against 7.5 ms for GNU OpenMP's own default):
on a machine busy with other processes a long spin takes the CPU that the thread it waits
for needs (measured: a default-threads fit 4.8x slower than one thread with GNU's default
spin), and the default number of threads also leaves out the CPUs other processes keep
busy (``bpt._threads.effective_n_threads``). LLVM's OpenMP runtime gets the nearest
setting it has, ``KMP_BLOCKTIME=1`` (ms). The variables are read when the OpenMP runtime
starts, so they are set before the first extension module loads it.
"""
import os

if "OMP_WAIT_POLICY" not in os.environ:
    # GOMP_SPINCOUNT overrides OMP_WAIT_POLICY in GNU OpenMP: set only when neither is.
    os.environ.setdefault("GOMP_SPINCOUNT", "30000")
    os.environ.setdefault("KMP_BLOCKTIME", "1")
