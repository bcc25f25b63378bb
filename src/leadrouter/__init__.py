"""leadrouter: decide which sales rep gets which lead, and show what a routing policy would
have done on your own history.

The curated public API is re-exported here; everything else is private. Importing leadrouter
loads attrs and the standard library only: pandas, scipy and statsmodels load inside the
functions that need them.
"""

from leadrouter import errors, events, rules
from leadrouter import stores as stores  # registers the opener Ledger.open calls
from leadrouter._version import __version__
from leadrouter.caps import Cap, FixedCap
from leadrouter.clock import ManualClock, SystemClock
from leadrouter.context import Context, TickContext
from leadrouter.dynamic_caps import CapForecast, DynamicCaps
from leadrouter.errors import (
    BehaviourNeededError,
    CalibrationWarning,
    CapabilityError,
    ConfigError,
    CorruptLogError,
    DuplicateLeadError,
    EmptyExportError,
    EventBeforeArrivalError,
    EventOutOfOrderError,
    ForecastFitWarning,
    InvalidExportError,
    InvalidTypeError,
    InvalidValueError,
    LeadRouterError,
    LeadsFileError,
    LedgerClosedError,
    LockTimeoutError,
    LogReplacedError,
    MissingColumnError,
    MissingExtraError,
    MissingPropensityError,
    ModelFitWarning,
    NaiveDatetimeError,
    NaiveExportTimeError,
    NotALeadError,
    OutOfRangeError,
    OutputInUseError,
    PolicyCannotRunError,
    RosterMismatchError,
    SchemaVersionError,
    ScoreScaleError,
    SnapshotWarning,
    StageAsConvertedError,
    StoreUnavailableError,
    StrategyError,
    TransitionError,
    UnknownLeadError,
    UnknownPolicyError,
    UnknownRepError,
)
from leadrouter.events import (
    PUBLIC,
    Arrived,
    Assigned,
    Claimed,
    Converted,
    Event,
    Moved,
    Pooled,
    Released,
    Tagged,
    Touched,
)
from leadrouter.ledger import Ledger, LedgerView, RepStats
from leadrouter.lifecycle import Lifecycle
from leadrouter.model import Decision, Lead, Reason, Rep, Shift
from leadrouter.playbooks import PlaybookError, load_playbook
from leadrouter.roster import Roster
from leadrouter.router import Router
from leadrouter.strategies.base import Pick, Release, Strategy, StrategyTags
from leadrouter.strategies.equal_rotation import EqualRotation
from leadrouter.strategies.explore import Explore
from leadrouter.strategies.grab_with_caps import GrabWithCaps
from leadrouter.strategies.hierarchical import Hierarchical
from leadrouter.strategies.performance_weighted import PerformanceWeighted
from leadrouter.strategies.profile_matching import ProfileMatching
from leadrouter.strategies.quota_proportional import QuotaProportional
from leadrouter.strategies.tiered_delay import Tier, TieredDelay
from leadrouter.strategies.utilization_weighted import UtilizationWeighted
from leadrouter.strategies.weighted import Weighted

__all__ = [
    "PUBLIC",
    "Arrived",
    "Assigned",
    "BehaviourNeededError",
    "CalibrationWarning",
    "Cap",
    "CapForecast",
    "CapabilityError",
    "Claimed",
    "ConfigError",
    "Context",
    "Converted",
    "CorruptLogError",
    "Decision",
    "DuplicateLeadError",
    "DynamicCaps",
    "EmptyExportError",
    "EqualRotation",
    "Event",
    "EventBeforeArrivalError",
    "EventOutOfOrderError",
    "Explore",
    "FixedCap",
    "ForecastFitWarning",
    "GrabWithCaps",
    "Hierarchical",
    "InvalidExportError",
    "InvalidTypeError",
    "InvalidValueError",
    "Lead",
    "LeadRouterError",
    "LeadsFileError",
    "Ledger",
    "LedgerClosedError",
    "LedgerView",
    "Lifecycle",
    "LockTimeoutError",
    "LogReplacedError",
    "ManualClock",
    "MissingColumnError",
    "MissingExtraError",
    "MissingPropensityError",
    "ModelFitWarning",
    "Moved",
    "NaiveDatetimeError",
    "NaiveExportTimeError",
    "NotALeadError",
    "OutOfRangeError",
    "OutputInUseError",
    "PerformanceWeighted",
    "Pick",
    "PlaybookError",
    "PolicyCannotRunError",
    "Pooled",
    "ProfileMatching",
    "QuotaProportional",
    "Reason",
    "Release",
    "Released",
    "Rep",
    "RepStats",
    "Roster",
    "RosterMismatchError",
    "Router",
    "SchemaVersionError",
    "ScoreScaleError",
    "Shift",
    "SnapshotWarning",
    "StageAsConvertedError",
    "StoreUnavailableError",
    "Strategy",
    "StrategyError",
    "StrategyTags",
    "SystemClock",
    "Tagged",
    "TickContext",
    "Tier",
    "TieredDelay",
    "Touched",
    "TransitionError",
    "UnknownLeadError",
    "UnknownPolicyError",
    "UnknownRepError",
    "UtilizationWeighted",
    "Weighted",
    "__version__",
    "errors",
    "events",
    "load_playbook",
    "rules",
]
