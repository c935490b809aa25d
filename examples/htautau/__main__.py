"""``python -m examples.htautau``: run the analysis."""
from .analysis import main

main()
