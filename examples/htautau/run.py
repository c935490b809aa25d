"""Run the H->tautau analysis: ``python examples/htautau/run.py [--tiny]``."""
import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: import the package from the examples directory (only that
    # directory, so that bpt is the installed one).
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from htautau.analysis import main
else:
    from .analysis import main

if __name__ == "__main__":
    main()
