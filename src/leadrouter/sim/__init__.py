"""The simulator: a team's history in, honest what-ifs of routing policies out.

Importing this package loads numpy and pandas (`import leadrouter` alone does not).
"""

from leadrouter.sim.history import History
from leadrouter.sim.loader import load_export
from leadrouter.sim.synthetic import ContactDecay, Product, Source, SyntheticTruth, synthetic

__all__ = [
    "ContactDecay",
    "History",
    "Product",
    "Source",
    "SyntheticTruth",
    "load_export",
    "synthetic",
]
