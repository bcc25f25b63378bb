"""The simulator: a team's history in, honest what-ifs of routing policies out.

Importing this package loads numpy and pandas (`import leadrouter` alone does not).
"""

from leadrouter.sim.analysis import Analysis, analyse
from leadrouter.sim.anomalies import Anomaly, anomalies_frame, find_anomalies
from leadrouter.sim.behaviour import Behaviour, FittedBehaviour, GivenBehaviour, fit_behaviour
from leadrouter.sim.calibration import Calibration, calibrate
from leadrouter.sim.censoring import DEFAULT_HORIZON, SoldWithin, sold_within
from leadrouter.sim.compare import Comparison, compare
from leadrouter.sim.coverage import coverage_study
from leadrouter.sim.demo import demo_history, demo_policies
from leadrouter.sim.engine import SimRun, simulate
from leadrouter.sim.evaluate import Evaluation, evaluate
from leadrouter.sim.grading import Grader, fit_grader
from leadrouter.sim.history import History
from leadrouter.sim.loader import load_export
from leadrouter.sim.logged import history_from_ledger
from leadrouter.sim.preflight import PolicyWarning, bottom_line, check_outcomes, check_timers
from leadrouter.sim.report import ReportPaths, calibration_panel, comparison_tables, write_report
from leadrouter.sim.repspread import RepSpread
from leadrouter.sim.shadow import Shadow, ShadowPair, shadow
from leadrouter.sim.sources import source_table
from leadrouter.sim.synthetic import ContactDecay, Product, Source, SyntheticTruth, synthetic
from leadrouter.sim.truth import TrueBehaviour

__all__ = [
    "DEFAULT_HORIZON",
    "Analysis",
    "Anomaly",
    "Behaviour",
    "Calibration",
    "Comparison",
    "ContactDecay",
    "Evaluation",
    "FittedBehaviour",
    "GivenBehaviour",
    "Grader",
    "History",
    "PolicyWarning",
    "Product",
    "RepSpread",
    "ReportPaths",
    "Shadow",
    "ShadowPair",
    "SimRun",
    "SoldWithin",
    "Source",
    "SyntheticTruth",
    "TrueBehaviour",
    "analyse",
    "anomalies_frame",
    "bottom_line",
    "calibrate",
    "calibration_panel",
    "check_outcomes",
    "check_timers",
    "compare",
    "comparison_tables",
    "coverage_study",
    "demo_history",
    "demo_policies",
    "evaluate",
    "find_anomalies",
    "fit_behaviour",
    "fit_grader",
    "history_from_ledger",
    "load_export",
    "shadow",
    "simulate",
    "sold_within",
    "source_table",
    "synthetic",
    "write_report",
]
