"""fit_grader(): learn from the history which leads buy, and sort new leads into grades.

Sales teams grade leads (A/B/C/D, 优良中差) by hand, by feel. The grader grades them from what the
team's own history says predicts a sale: a ridge-regularised logistic regression of `converted` on
the lead's features (source, region, product, segment, local hour of arrival, and any feature column
of the export), with ordered grades cut at quantiles of the predicted probability.

Honesty: the latest quarter of the leads (by arrival) is held out, a grader fitted on the
earlier leads grades them, and the grader reports whether conversion really falls grade by
grade on those unseen leads. In-sample rates of grades are always ordered (that is how the
grades were cut); only the held-out ones are evidence.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd

from leadrouter._util import FrozenMap, freeze
from leadrouter.errors import ConfigError, InvalidExportError
from leadrouter.model import Lead, zone
from leadrouter.sim.fitting import fitted
from leadrouter.sim.history import COLUMNS, History

__all__ = [
    "DEFAULT_FEATURES",
    "GRADE_COLUMNS",
    "MIN_CONVERSIONS",
    "MIN_LEADS",
    "OTHER",
    "Grader",
    "fit_grader",
    "wilson",
]

DEFAULT_FEATURES = ("source", "region", "product", "segment", "hour")
"""The features `fit_grader` uses unless told otherwise."""

_DERIVED = ("hour", "weekday")
"""Features computed from the arrival time, in the History's local zone."""
_LEAD_FIELDS = ("source", "region", "product", "segment", "grade", "score", "cost")
"""Standard fields a grader may use (the outcome fields never: they are what it predicts)."""

OTHER = "other"
"""The level that pools a categorical feature's rare values (and values never seen in fitting)."""

MIN_LEADS = 40
"""Fewest leads `fit_grader` accepts: with fewer, a held-out quarter of ten leads says nothing."""
MIN_CONVERSIONS = 5
"""Fewest conversions among the fitting leads (the earlier three quarters)."""

GRADE_COLUMNS = (
    "leads",
    "conversions",
    "rate",
    "rate_lo",
    "rate_hi",
    "min_probability",
    "heldout_leads",
    "heldout_conversions",
    "heldout_rate",
    "heldout_rate_lo",
    "heldout_rate_hi",
)
"""The columns of `Grader.table()`, in order."""


def wilson(successes: int, trials: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval (95% by default) for a binomial rate; (NaN, NaN) for 0 trials.

    Chosen over the normal interval because grades can have few leads and rates near 0, where
    the normal interval goes below 0 and is too narrow."""
    if trials <= 0:
        return (math.nan, math.nan)
    p = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


@attrs.frozen(repr=False)
class _Term:
    """One column of the design: a categorical level (`level` set) or a standardised number."""

    feature: str
    level: str | None
    coef: float
    mean: float = 0.0
    scale: float = 1.0


@attrs.frozen(repr=False, eq=False)
class Grader:
    """A fitted lead grader: `grader(lead)` is the lead's grade, `grader.probability(lead)` its
    predicted chance of converting.

    A plain, frozen callable, so it plugs in wherever a lead function does:
    `rules.nurture(score=grader.probability, below=...)` keeps leads the history says rarely buy
    out of reps' books; grading leads before routing (`attrs.evolve(lead, grade=grader(lead))`)
    feeds `PerformanceWeighted(measure="points", points=grader.points())`.

    Guarantee: the same lead always gets the same grade and probability (no randomness after
    fitting); a value never seen in fitting is treated as the pooled "other" level, and a missing
    number as the average, so any lead can be graded.
    """

    grades: tuple[str, ...]
    features: tuple[str, ...]
    tz: str
    intercept: float
    terms: tuple[_Term, ...]
    cuts: tuple[float, ...]
    """Lower probability bound of each grade but the last, best grade first."""
    known: FrozenMap[frozenset[str]] = attrs.field(converter=freeze)
    """Per categorical feature, the levels that have their own coefficient (or are the
    reference)."""
    references: FrozenMap[str] = attrs.field(converter=freeze)
    alpha: float
    n_leads: int
    n_conversions: int
    n_heldout: int
    origin: str
    _table: pd.DataFrame = attrs.field(alias="table_")
    _coefficients: pd.DataFrame = attrs.field(alias="coefficients_")

    # ------------------------------------------------------------------ scoring

    def __call__(self, lead: Lead) -> str:
        """The lead's grade: the first (best) grade whose lower bound its probability reaches."""
        return self.grade_of(self.probability(lead))

    def grade_of(self, probability: float) -> str:
        """The grade of a predicted probability."""
        for grade, cut in zip(self.grades, self.cuts, strict=False):
            if probability >= cut:
                return grade
        return self.grades[-1]

    def probability(self, lead: Lead) -> float:
        """The predicted chance that `lead` converts, strictly between 0 and 1."""
        total = self.intercept
        values = {name: _lead_value(lead, name, self.tz) for name in self.features}
        for term in self.terms:
            value = values[term.feature]
            if term.level is None:
                number = _number(value)
                if not math.isnan(number):
                    total += term.coef * (number - term.mean) / term.scale
            elif self._level(term.feature, value) == term.level:
                total += term.coef
        total = min(max(total, -35.0), 35.0)
        return 1.0 / (1.0 + math.exp(-total))

    def _level(self, feature: str, value: Any) -> str:
        text = _text(value)
        return text if text in self.known[feature] else OTHER

    # ------------------------------------------------------------------ reports

    def table(self) -> pd.DataFrame:
        """Per grade (the index, best first): `leads`, `conversions`, `rate` and its 95% Wilson
        interval (`rate_lo`, `rate_hi`) over all leads the grader was fitted on, graded by it
        (in-sample: ordered by construction, optimistic); `min_probability`, the grade's lower
        cut; and `heldout_*`, the same for the latest leads graded by a grader fitted without
        them (the honest check)."""
        return self._table.copy()

    def coefficients(self) -> pd.DataFrame:
        """The fitted log-odds coefficients: `feature`, `level` (empty for a number, per
        standard deviation), `coef`, `odds_ratio` and `leads` (fitting leads at that level), the
        largest effects first. A level's coefficient is relative to its feature's most common
        level (the reference, named in `summary()`); the penalty pulls every coefficient toward
        0, the more so the fewer leads it rests on."""
        return self._coefficients.copy()

    def points(self) -> dict[str, float]:
        """Points per sale by grade for `PerformanceWeighted(measure="points")`: the best
        grade's conversion rate over each grade's, so a sale from a grade that converts a third
        as often earns three points. Rates are smoothed ((conversions + 1) / (leads + 2)) so a
        grade with no sale gets a large but finite number."""
        table = self._table
        rates = ((table["conversions"] + 1.0) / (table["leads"] + 2.0)).tolist()
        best = rates[0]
        points: dict[str, float] = {}
        previous = 1.0
        for grade, rate, leads in zip(self.grades, rates, table["leads"].tolist(), strict=True):
            previous = round(best / rate, 3) if leads else previous
            points[grade] = previous
        return points

    @property
    def heldout_monotone(self) -> bool | None:
        """True when the held-out conversion rate falls strictly grade by grade, False when it
        does not, None when there is no held-out lead in some grade (not checkable)."""
        rates = self._table["heldout_rate"]
        if rates.isna().any():
            return None
        values = rates.tolist()
        return all(a > b for a, b in itertools.pairwise(values))

    def summary(self) -> str:
        """What was fitted, in words: leads and conversions, the coefficients that matter, the
        grades with their rates, and the held-out check's verdict."""
        lines = [
            f"Lead grader fitted on {self.origin}: {self.n_leads} leads, "
            f"{self.n_conversions} conversions "
            f"({self.n_conversions / max(self.n_leads, 1):.1%}); "
            f"features {', '.join(self.features)}; ridge penalty alpha={self.alpha:g}.",
        ]
        records = self._coefficients.to_dict("records")
        shown = [r for r in records if abs(r["coef"]) >= 0.05][:12]
        if records:
            lines.append("What predicts conversion (log-odds; x = odds ratio vs the reference):")
            for r in shown:
                ref = self.references.get(str(r["feature"]))
                what = (
                    f"{r['feature']}={r['level']} (vs {ref})"
                    if r["level"]
                    else f"{r['feature']} (+1 sd)"
                )
                lines.append(
                    f"  {what:<40} {r['coef']:+.2f}  x{r['odds_ratio']:.2f}  ({r['leads']} leads)"
                )
            if len(records) > len(shown):
                lines.append(
                    f"  ... and {len(records) - len(shown)} smaller effects (coefficients())"
                )
        else:
            lines.append(
                "No feature has two levels with enough leads: every lead gets the "
                "average rate (lower min_level, or export more history)."
            )
        lines.append(
            "Grades (in-sample | held-out, the latest leads, graded by a grader fitted "
            "without them):"
        )
        for grade, row in zip(self.grades, self._table.to_dict("records"), strict=True):
            lines.append(
                f"  {grade}: p >= {row['min_probability']:.3f}  "
                f"{_rate(row, '')} | {_rate(row, 'heldout_')}"
            )
        empty = [g for g, m in zip(self.grades, self._table["leads"], strict=True) if not m]
        if empty:
            lines.append(
                f"Grade(s) {', '.join(empty)} have no lead: the features tell fewer groups of "
                "leads apart than there are grades; use fewer grades or more features."
            )
        verdict = self.heldout_monotone
        if verdict is None:
            lines.append(
                f"Held-out check not possible: some grade has no lead among the "
                f"{self.n_heldout} held-out leads."
            )
        elif verdict:
            lines.append(
                f"Held-out check passed: on the {self.n_heldout} latest leads conversion falls "
                f"grade by grade ({' > '.join(self.grades)})."
            )
        else:
            lines.append(
                f"Held-out check FAILED: on the {self.n_heldout} latest leads conversion does "
                f"not fall grade by grade; treat neighbouring grades as the same (compare "
                f"their intervals) or grade with fewer grades."
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<Grader {'/'.join(self.grades)} on {', '.join(self.features)}: "
            f"{self.n_leads} leads, held-out monotone={self.heldout_monotone}>"
        )


def _rate(row: Mapping[Hashable, Any], prefix: str) -> str:
    leads = int(row[f"{prefix}leads"])
    if leads == 0:
        return "no leads"
    return (
        f"{int(row[f'{prefix}conversions'])}/{leads} = {row[f'{prefix}rate']:.1%} "
        f"[{row[f'{prefix}rate_lo']:.1%}, {row[f'{prefix}rate_hi']:.1%}]"
    )


# ---------------------------------------------------------------------- fitting


def fit_grader(
    history: History,
    features: Sequence[str] = DEFAULT_FEATURES,
    grades: Sequence[str] = ("A", "B", "C", "D"),
    alpha: float = 1.0,
    *,
    holdout: float = 0.25,
    min_level: int = 20,
) -> Grader:
    """Fit a Grader on `history`: which lead features predict conversion, and grades by it.

    - `features`: lead fields (source, region, product, segment, grade, score, cost), "hour" and
      "weekday" (local to `history.tz`), or any extra column of the export. Text features are
      one-hot coded against their most common level, with levels seen on fewer than
      `min_level` fitting leads pooled into "other"; numeric ones are standardised.
    - The model: logistic regression of `converted` with a ridge penalty on every coefficient
      but the intercept (statsmodels `GLM(Binomial).fit_regularized(L1_wt=0)`): the same as a
      normal prior of variance 1 / `alpha` on each log-odds coefficient, so a level seen on few
      leads is pulled toward its feature's reference instead of taking an extreme value. Larger
      alpha, stronger pull; alpha=1 lets an effect reach an odds ratio of about 7 only when the
      data insist.
    - `grades`: labels best first (("优", "良", "中", "差") works); each gets an equal share of
      the fitting leads, cut at quantiles of the predicted probability.
    - Held-out check: a grader fitted on the earliest (1 − `holdout`) of the leads grades the
      latest `holdout`; `table()` and `summary()` report those rates beside the in-sample ones.
      The returned grader is then fitted on all leads, by the same procedure.

    Raises ConfigError for unusable settings (unknown feature, fewer than two grades) and
    InvalidExportError when the history cannot support a grader (too few leads or
    conversions).
    """
    grades = tuple(grades)
    features = tuple(features)
    if len(grades) < 2 or len(set(grades)) != len(grades) or not all(grades):
        raise ConfigError(
            f"fit_grader: grades must be two or more distinct labels, best first, e.g. "
            f"('A', 'B', 'C', 'D') or ('优', '良', '中', '差'); got {grades!r}"
        )
    if not features or len(set(features)) != len(features):
        raise ConfigError(f"fit_grader: features must be distinct names, got {features!r}")
    if isinstance(alpha, bool) or not (isinstance(alpha, int | float) and alpha >= 0):
        raise ConfigError(f"fit_grader: alpha must be a number >= 0, got {alpha!r}")
    if not 0.0 < holdout < 1.0:
        raise ConfigError(f"fit_grader: holdout must be a fraction in (0, 1), got {holdout!r}")
    if min_level < 1:
        raise ConfigError(f"fit_grader: min_level must be >= 1, got {min_level!r}")
    frame = history.to_frame()
    allowed = set(_LEAD_FIELDS) | set(_DERIVED) | (set(frame.columns) - set(COLUMNS))
    unknown = [name for name in features if name not in allowed]
    if unknown:
        raise ConfigError(
            f"fit_grader: unknown feature(s) {unknown} in {history.origin}; use lead fields "
            f"{list(_LEAD_FIELDS)}, 'hour', 'weekday' or a column of the export "
            f"{sorted(set(frame.columns) - set(COLUMNS))}"
        )
    n = len(frame)
    if n < MIN_LEADS:
        raise InvalidExportError(
            f"fit_grader: {history.origin} has {n} leads; a grader needs at least {MIN_LEADS} "
            "(a quarter is held out to check it): export a longer period"
        )
    y = frame["converted"].to_numpy(dtype=bool).astype(float)
    if not y.any():
        raise InvalidExportError(
            f"fit_grader: no lead of {history.origin} converted, so nothing predicts conversion; "
            "check that the export has a converted_at, amount or converted column (see "
            "history.columns)"
        )
    encoded = {name: _encode(_column(frame, name, history.tz), name) for name in features}
    n_fit = min(math.ceil(n * (1.0 - holdout)), n - 1)
    train = np.arange(n) < n_fit
    if y[train].sum() < MIN_CONVERSIONS:
        raise InvalidExportError(
            f"fit_grader: {history.origin} has {int(y[train].sum())} conversions among its "
            f"earliest {n_fit} leads (the fitting part); a grader needs at least "
            f"{MIN_CONVERSIONS}: export a longer period or hold out less (holdout=)"
        )
    everyone = np.ones(n, dtype=bool)
    check = _fit(encoded, y, train, features, len(grades), float(alpha), min_level, history)
    heldout_index = check.grade_index(check.probabilities(encoded, ~train))
    final = _fit(encoded, y, everyone, features, len(grades), float(alpha), min_level, history)
    all_index = final.grade_index(final.probabilities(encoded, everyone))
    heldout_y = y[~train]
    rows = []
    for index in range(len(grades)):
        mask, held = all_index == index, heldout_index == index
        k, m = int(y[mask].sum()), int(mask.sum())
        hk, hm = int(heldout_y[held].sum()), int(held.sum())
        lo, hi = wilson(k, m)
        hlo, hhi = wilson(hk, hm)
        rows.append(
            {
                "leads": m,
                "conversions": k,
                "rate": k / m if m else math.nan,
                "rate_lo": lo,
                "rate_hi": hi,
                "min_probability": final.cuts[index] if index < len(final.cuts) else 0.0,
                "heldout_leads": hm,
                "heldout_conversions": hk,
                "heldout_rate": hk / hm if hm else math.nan,
                "heldout_rate_lo": hlo,
                "heldout_rate_hi": hhi,
            }
        )
    table = pd.DataFrame(rows, index=pd.Index(grades, name="grade"), columns=list(GRADE_COLUMNS))
    return Grader(
        grades=grades,
        features=features,
        tz=history.tz,
        intercept=final.intercept,
        terms=final.terms,
        cuts=final.cuts,
        known=final.known,
        references=final.references,
        alpha=float(alpha),
        n_leads=n,
        n_conversions=int(y.sum()),
        n_heldout=n - n_fit,
        origin=history.origin,
        table_=table,
        coefficients_=final.coefficients,
    )


@attrs.define
class _Fitted:
    """One fit: what a Grader is built from, with vectorised scoring of the fitting frame."""

    intercept: float
    terms: tuple[_Term, ...]
    known: dict[str, frozenset[str]]
    references: dict[str, str]
    coefficients: pd.DataFrame
    cuts: tuple[float, ...] = ()

    def probabilities(
        self, encoded: Mapping[str, np.ndarray[Any, Any]], rows: np.ndarray[Any, Any]
    ) -> np.ndarray[Any, Any]:
        total = np.full(int(rows.sum()), self.intercept)
        for term in self.terms:
            column = encoded[term.feature][rows]
            if term.level is None:
                total += term.coef * np.nan_to_num((column - term.mean) / term.scale)
            else:
                total += term.coef * (_pool(column, self.known[term.feature]) == term.level)
        return _sigmoid(total)

    def grade_index(self, probabilities: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """0 for the best grade: how many (descending) cuts each probability falls below."""
        index: np.ndarray[Any, Any] = np.zeros(len(probabilities), dtype=int)
        for cut in self.cuts:
            index += probabilities < cut
        return index


def _fit(
    encoded: Mapping[str, np.ndarray[Any, Any]],
    y: np.ndarray[Any, Any],
    rows: np.ndarray[Any, Any],
    features: tuple[str, ...],
    n_grades: int,
    alpha: float,
    min_level: int,
    history: History,
) -> _Fitted:
    """One ridge-penalised logit on the leads selected by `rows`, and its grade cut points."""
    import statsmodels.api as sm

    n = int(rows.sum())
    columns: list[np.ndarray[Any, Any]] = []
    specs: list[tuple[str, str | None, float, float, int]] = []
    known: dict[str, frozenset[str]] = {}
    references: dict[str, str] = {}
    for name in features:
        column = encoded[name][rows]
        if column.dtype.kind == "f":
            present = ~np.isnan(column)
            if not present.any():
                continue
            mean = float(column[present].mean())
            scale = float(column[present].std()) or 1.0
            columns.append(np.nan_to_num((column - mean) / scale))
            specs.append((name, None, mean, scale, int(present.sum())))
            continue
        counts = pd.Series(column, dtype=object).value_counts()
        known[name] = frozenset(str(level) for level, c in counts.items() if c >= min_level)
        pooled = _pool(column, known[name])
        levels = pd.Series(pooled, dtype=object).value_counts()
        if len(levels) < 2:
            continue
        ordered = sorted((str(lv) for lv in levels.index), key=lambda lv: (-int(levels[lv]), lv))
        references[name] = ordered[0]
        for level in ordered[1:]:
            indicator = (pooled == level).astype(float)
            columns.append(indicator)
            specs.append((name, level, 0.0, 1.0, int(indicator.sum())))
    target = y[rows]
    base = float(np.clip(target.mean(), 1e-6, 1 - 1e-6))
    params = np.array([math.log(base / (1 - base))])
    if columns:
        design = np.column_stack([np.ones(n), *columns])
        penalty = np.full(design.shape[1], alpha / n)
        penalty[0] = 0.0
        model = sm.GLM(target, design, family=sm.families.Binomial())
        try:
            result = fitted(
                lambda: model.fit_regularized(alpha=penalty, L1_wt=0.0),
                f"fit_grader's logistic model on {history.origin}",
            )
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise InvalidExportError(
                f"fit_grader: the model could not be fitted on {history.origin} ({exc}); "
                "use fewer features or a larger alpha"
            ) from exc
        params = np.asarray(result.params, dtype=float)
        if not np.isfinite(params).all():
            raise InvalidExportError(
                f"fit_grader: the fit on {history.origin} did not converge; use fewer features "
                "or a larger alpha"
            )
    terms = tuple(
        _Term(name, level, float(coef), mean, scale)
        for coef, (name, level, mean, scale, _) in zip(params[1:], specs, strict=True)
    )
    coefficients = pd.DataFrame(
        [
            {
                "feature": name,
                "level": level or "",
                "coef": float(coef),
                "odds_ratio": math.exp(float(coef)),
                "leads": leads,
            }
            for coef, (name, level, _, _, leads) in zip(params[1:], specs, strict=True)
        ],
        columns=["feature", "level", "coef", "odds_ratio", "leads"],
    )
    if len(coefficients):
        order = np.argsort(-np.abs(coefficients["coef"].to_numpy()), kind="stable")
        coefficients = coefficients.iloc[order].reset_index(drop=True)
    model_fit = _Fitted(float(params[0]), terms, known, references, coefficients)
    probabilities = model_fit.probabilities(encoded, rows)
    model_fit.cuts = tuple(
        float(np.quantile(probabilities, 1.0 - (j + 1) / n_grades)) for j in range(n_grades - 1)
    )
    return model_fit


def _sigmoid(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    result: np.ndarray[Any, Any] = 1.0 / (1.0 + np.exp(-np.clip(x, -35.0, 35.0)))
    return result


def _pool(texts: np.ndarray[Any, Any], known: frozenset[str]) -> np.ndarray[Any, Any]:
    result: np.ndarray[Any, Any] = np.where(np.isin(texts, list(known)), texts, OTHER)
    return result


def _encode(values: list[Any], name: str) -> np.ndarray[Any, Any]:
    """A feature's values as floats (NaN = missing) when it is a number, else as texts."""
    if _is_numeric(name, values):
        return np.array([_number(v) for v in values], dtype=float)
    return np.array([_text(v) for v in values], dtype=object)


# ---------------------------------------------------------------------- feature values


def _column(frame: pd.DataFrame, name: str, tz: str) -> list[Any]:
    """A feature's value for every lead of the frame, as the lead itself would give it."""
    if name in _DERIVED:
        local = frame["arrived_at"].dt.tz_convert(zone(tz))
        part = local.dt.hour if name == "hour" else local.dt.weekday
        return [int(v) for v in part.tolist()]
    values: list[Any] = frame[name].tolist()
    if name in ("source", "region", "product", "segment"):
        return values
    return [None if _missing(v) else v for v in values]


def _lead_value(lead: Lead, name: str, tz: str) -> Any:
    if name == "hour":
        return lead.arrived_at.astimezone(zone(tz)).hour
    if name == "weekday":
        return lead.arrived_at.astimezone(zone(tz)).weekday()
    if name in _LEAD_FIELDS:
        return getattr(lead, name)
    return lead.features.get(name)


def _is_numeric(name: str, values: list[Any]) -> bool:
    """A feature is a number when every given value is one; "hour" and "weekday" are
    categories (conversion need not rise with the hour)."""
    if name in _DERIVED:
        return False
    given = [v for v in values if v is not None]
    return bool(given) and all(
        isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
        for v in given
    )


def _number(value: Any) -> float:
    if value is None or isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _text(value: Any) -> str:
    if value is None or _missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)
