"""Every error a user can cause, each a named subclass of `LeadRouterError` and of the builtin it
resembles, so `except ValueError` in existing code keeps working.

Messages say what was wrong, where, and how to fix it.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "BehaviourNeededError",
    "CalibrationWarning",
    "CapabilityError",
    "ConfigError",
    "CorruptLogError",
    "DuplicateLeadError",
    "EmptyExportError",
    "EventBeforeArrivalError",
    "EventOutOfOrderError",
    "ForecastFitWarning",
    "InvalidExportError",
    "InvalidTypeError",
    "InvalidValueError",
    "LeadRouterError",
    "LeadsFileError",
    "LedgerClosedError",
    "LockTimeoutError",
    "LogReplacedError",
    "MissingColumnError",
    "MissingExtraError",
    "MissingPropensityError",
    "ModelFitWarning",
    "NaiveDatetimeError",
    "NaiveExportTimeError",
    "NotALeadError",
    "OutOfRangeError",
    "OutputInUseError",
    "PlaybookError",
    "PolicyCannotRunError",
    "RosterMismatchError",
    "SchemaVersionError",
    "ScoreScaleError",
    "SnapshotWarning",
    "StageAsConvertedError",
    "StoreUnavailableError",
    "StrategyError",
    "TransitionError",
    "UnknownLeadError",
    "UnknownPolicyError",
    "UnknownRepError",
]


class LeadRouterError(Exception):
    """Base class of every error leadrouter raises on purpose."""


class InvalidValueError(LeadRouterError, ValueError):
    """A field of a lead, rep or event has a value it may not have (empty id, negative cost,
    NaN score)."""


class NaiveDatetimeError(InvalidValueError):
    """A datetime without a time zone: leadrouter never guesses which zone a time was meant in."""


class OutOfRangeError(InvalidValueError):
    """A number outside the range its field allows: a score outside 0-1 (a 0-100 score divided
    by 100 fits), a negative or infinite cost or quota."""


class InvalidTypeError(LeadRouterError, TypeError):
    """A setting or field of the wrong type (`Rep(tier="x")`, `Lifecycle(reroute="yes")`); the
    message names the class, the field, the value given and what to write instead."""


class NotALeadError(LeadRouterError, TypeError):
    """Something other than a `Lead` was passed where a Lead is needed (e.g. a lead id or a dict
    to `Router.route`): build one with `Lead(id=..., arrived_at=...)` or `Lead.from_row(row)`."""


class ConfigError(LeadRouterError, ValueError):
    """A Router, rule, cap, lifecycle or strategy was configured with settings that cannot work."""


class PlaybookError(ConfigError):
    """A playbook that cannot work: the message names the file, the key and what is allowed."""


class DuplicateLeadError(LeadRouterError, ValueError):
    """A lead id was reused for a lead whose fields differ from the first one."""


class UnknownRepError(LeadRouterError, LookupError):
    """A rep id that is not on the router's roster."""


class TransitionError(LeadRouterError, ValueError):
    """An event breaks the per-lead state machine; the ledger is left unchanged."""


class UnknownLeadError(TransitionError, LookupError):
    """An event or call names a lead the ledger has never seen arrive."""


class EventBeforeArrivalError(TransitionError):
    """An event, or a routing `now`, dated before the lead arrived."""


class EventOutOfOrderError(TransitionError):
    """An event dated more than the clock-skew tolerance (`leadrouter.ledger.CLOCK_SKEW`) before
    the event it acts on: a touch, tag, sale or release before the holding it reports on began,
    a claim or assignment before the lead entered the pool it is taken from."""


class StrategyError(LeadRouterError, RuntimeError):
    """A strategy returned a rep it was not offered, or one over a cap: a bug in the strategy."""


class InvalidExportError(LeadRouterError, ValueError):
    """An export file (CSV, Excel, Parquet) that cannot be loaded as it is: the message names the
    file, the row and column when one is to blame, and how to fix it."""


class MissingColumnError(InvalidExportError):
    """An export lacks a required column (lead id, arrival time) under any header leadrouter
    recognises: map your header with `load_export(..., columns={"your header": "lead_id"})`."""


class ScoreScaleError(InvalidExportError, OutOfRangeError):
    """An export's score column holds values outside 0-100, so neither the 0-1 scale nor a
    0-100 scale (which `load_export` divides by 100) fits: the message names the file, the
    column and the rows."""


class StageAsConvertedError(InvalidExportError):
    """A stage or status column (Won, Closed Lost, Prospecting ...) was read as `converted`, which
    holds yes / no: map it to `stage` instead, which reads stages as won / lost / open."""


class EmptyExportError(InvalidExportError):
    """An export with no usable row: empty, or every row rejected (the message lists why)."""


class NaiveExportTimeError(InvalidExportError, NaiveDatetimeError):
    """An export holds times without a zone and no `tz=` was given: leadrouter never guesses
    which zone the CRM wrote them in."""


class BehaviourNeededError(LeadRouterError, ValueError):
    """A simulation needs a behaviour model of the reps and none was given or can be derived: a
    synthetic History carries its truth, a loaded export does not (pass `behaviour=` a fitted
    or given model)."""


class PolicyCannotRunError(LeadRouterError, ValueError):
    """No policy (or not the baseline) can run on this history, e.g. a quota strategy on an
    export whose reps have no quotas; the message says why and how to fix it."""


class MissingPropensityError(LeadRouterError, ValueError):
    """Off-policy evaluation needs the chance each logged assignment had (`propensity`), and the
    history has none: route with `Explore(your strategy, share=0.05)` for a while and export
    the propensity of each assignment (`leadrouter.sim.evaluate`)."""


class StoreUnavailableError(LeadRouterError, ConnectionError):
    """The database behind a SQL ledger could not be reached (after the bounded retries), or
    the connection broke during an operation, which then wrote nothing; the message names the
    URL without its password."""


class LockTimeoutError(LeadRouterError, TimeoutError):
    """An operation waited longer than `lock_timeout` for a SQL ledger's write lock (another
    worker holds it); nothing was written, so the operation can simply be retried."""


class SchemaVersionError(LeadRouterError, RuntimeError):
    """A SQL ledger's schema is newer than this leadrouter knows (upgrade leadrouter), or older
    (run `leadrouter db upgrade URL`)."""


class CorruptLogError(LeadRouterError, ValueError):
    """A row of a SQL ledger's event log cannot be read back as an event, or contradicts the
    events before it (an unknown kind, a missing field, a second assignment): the log was changed
    outside leadrouter. The message names the ledger, the row's sequence number and its kind;
    nothing is folded past it."""


class LogReplacedError(LeadRouterError, RuntimeError):
    """The event log of a SQL ledger is no longer the one this worker read (restored from a
    backup while the worker ran): its rows now end before the last one the worker read, or the
    row at that sequence number is another. The worker's views would disagree with the log and
    with the other workers, so it writes nothing; the message names the ledger, the URL and
    both sequence numbers. Restart the worker: it reopens the ledger from the database."""


class LedgerClosedError(LeadRouterError, ValueError):
    """An operation or a read on a SQL ledger after its `close()` (or the end of its `with`
    block): its connections and its views are gone and it opens none again, so nothing was
    read, answered or written. Raised as Python raises for a closed file (a ValueError); the
    message names the ledger and the URL. Open the ledger again with `Ledger.open(url, name)`.
    (An in-memory `Ledger()` is never closed: its `close()` does nothing.)"""


class RosterMismatchError(ConfigError):
    """A Router's roster was never used on its SQL ledger (another deploy, with other reps) and
    differs from the one the ledger recorded last: mixing two rosters on one ledger would route
    by two different teams, so the operation is refused. The message names the reps that
    differ. (A Router whose roster the ledger used before, changed since by another process
    with `set_rep` or `handover`, takes up the ledger's roster instead.)"""


class SnapshotWarning(UserWarning):
    """A SQL ledger's stored snapshot was not used (from another leadrouter version, corrupt,
    or not matching the log) or could not be written: the views are folded from the log
    instead, which is always right, only slower to open."""


class CalibrationWarning(UserWarning):
    """The behaviour model failed its calibration check: replaying the logged assignments did not
    reproduce the history's rates within their predictive intervals, so what-ifs built on it
    are not to be trusted until the model is fixed (see the verdict's reasons)."""


class ModelFitWarning(UserWarning):
    """A statistical fit of the simulator (contact decay, a grader, a behaviour model's GLM)
    stopped before its optimiser converged: its estimates are the last step's, and the message
    names what was being fitted. Other numeric warnings of statsmodels are kept quiet
    (`leadrouter.sim.fitting`)."""


class ForecastFitWarning(ModelFitWarning):
    """A rep's `DynamicCaps` forecast model was fitted but statsmodels' optimiser did not
    converge: its last parameters are used (the caps stay within `bounds`), and each
    `CapForecast` built on it says so in its `note`. Usually an outlier day in the rep's series;
    `DynamicCaps.explain` shows the series and the parameters. A `ModelFitWarning`, so one
    filter on that class covers every fit that did not converge, the router's and the
    simulator's."""


Audience = Literal["python", "command"]
"""Who reads a message about reading an export: a Python caller, who sets options as keyword
arguments (`tz='UTC'`), or a user of the `leadrouter` command, who sets the same options as
flags (`--tz UTC`)."""


@dataclass(frozen=True)
class ExportOption:
    """An option for reading an export: `load_export` takes it as a keyword argument, the
    `leadrouter route` and `compare` commands as the flag of the same name (`encoding`,
    `columns`, `tz`, `dayfirst`).

    A message that says which option fixes a problem names it through this class, so the
    advice is written once and reads right to whoever gets it: `tz='Asia/Shanghai'` in Python,
    `--tz Asia/Shanghai` on the command line. A `columns` map is {file header: field} in Python
    and `FIELD=HEADER` on the command line; `given` turns one into the other.
    """

    name: str

    def named(self, audience: Audience) -> str:
        """The option's name as the audience types it: `tz` or `--tz` (`as_of`: `--as-of`)."""
        return f"--{self.name.replace('_', '-')}" if audience == "command" else self.name

    def given(self, value: object, audience: Audience) -> str:
        """The option set to `value`, ready to paste: `columns={'Owner': 'rep_id'}` or
        `--columns rep_id=Owner`; `dayfirst=True` or `--dayfirst` (False: `--no-dayfirst`)."""
        if audience == "python":
            return f"{self.name}={value!r}"
        if value is True:
            return self.named(audience)
        if value is False:
            return f"--no-{self.name.replace('_', '-')}"
        if isinstance(value, Mapping):
            pairs = (f"{field}={shlex.quote(str(header))}" for header, field in value.items())
            return f"{self.named(audience)} {' '.join(pairs)}"
        return f"{self.named(audience)} {shlex.quote(str(value))}"


class LeadsFileError(LeadRouterError, ValueError):
    """A leads file with rows that cannot be used; lists each row, column and problem."""


class UnknownPolicyError(LeadRouterError, LookupError):
    """A `--policies` entry that is neither a playbook file, a pattern matching playbook files,
    nor the name of a built-in policy; the message lists the built-in names."""


class OutputInUseError(LeadRouterError, RuntimeError):
    """Another `leadrouter compare` is writing into the same `--out` folder; names its process
    and since when, so the second run waits or writes elsewhere instead of mixing its files
    with the first's."""


class MissingExtraError(LeadRouterError, ImportError):
    """A command needs an optional dependency that is not installed; names the extra to
    install."""


class CapabilityError(ConfigError):
    """A strategy, rule or cap does not declare what it does, or is used where it cannot get
    what it declares it needs: a strategy that overrides `route_batch` without
    `StrategyTags(batching=True)` (or the reverse), a rule that answers a family's question
    without subclassing that family, or a strategy that needs a ledger view (`needs_views`) its
    ledger, or the composed strategy around it, does not offer. Raised when the class is defined
    or the Router (or composed strategy) is built, so a misfit never gets as far as a lead; a
    strategy called directly, outside a Router, with a view that lacks what it reads raises it
    then."""
