"""Export profiles and outcome values: how the big CRMs name their export columns and stages.

A profile is the set of default headers of one CRM report or export (Salesforce Opportunities,
HubSpot deals, Pipedrive deals ...). `detect` picks the profile whose identifying headers a file
has, and `load_export` maps that profile's headers first, so a header that means different
things in different CRMs (a close date: a sale date on won rows only; a status: a lead's or a
deal's) is read the way that CRM means it. A file matching no profile is read with the generic
headers of `leadrouter.sim.loader.ALIASES`.

`outcome_of` maps a stage or status value to won / lost / open: recognised stage names of these
CRMs (and common English and Chinese ones, and French, German and Spanish ones of
`leadrouter.sim.locales`), then the team's own `won=` / `lost=` values, which
win; any other value is an open deal. Headers and values are compared normalised (lower case,
no spaces, punctuation or accents), so "Closed - Won", "closed_won" and "closedwon" are one
value, as are "Gagné" and "gagne".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from leadrouter.sim.locales import LOST as LOCALE_LOST
from leadrouter.sim.locales import OPEN as LOCALE_OPEN
from leadrouter.sim.locales import QUALIFIED, SALESFORCE_LEADS, unaccented
from leadrouter.sim.locales import WON as LOCALE_WON

__all__ = [
    "CHINESE_LOST",
    "CHINESE_OPEN",
    "CHINESE_WON",
    "GENERIC",
    "LOST_VALUES",
    "NEGATIONS",
    "OPEN_VALUES",
    "PROFILES",
    "WON_VALUES",
    "Outcomes",
    "Profile",
    "detect",
    "negated_won",
    "norm_value",
]


def norm_value(value: str) -> str:
    """A stage value as the tables below spell it: lower case, letters and digits only, accents
    taken off (`Fermée gagnée` is `fermeegagnee`)."""
    return re.sub(r"[\W_]+", "", unaccented(value)).lower()


@dataclass(frozen=True)
class Profile:
    """One CRM export's default headers.

    `headers` maps a field (an export field, or `lost_reason`: a column whose non-blank value
    marks a deal lost) to the normalised headers that hold it, best first; `signatures` are
    sets of normalised headers, any one of which, all present, identifies the export; `won` /
    `lost` are stage values that mean won / lost in this CRM only (HubSpot's lifecycle stage
    "customer"; Salesforce's lead status "Qualified", the status its default picklist of New,
    Working, Nurturing, Unqualified, Qualified gives a converted lead, and its French, German
    and Spanish names); `report` says which report or export to run."""

    name: str
    report: str
    headers: Mapping[str, tuple[str, ...]]
    signatures: tuple[frozenset[str], ...]
    won: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()

    def matches(self, headers: Iterable[str]) -> int:
        """How many identifying headers of the best signature the normalised `headers` hold
        (0: no signature complete)."""
        have = set(headers)
        return max((len(sig) for sig in self.signatures if sig <= have), default=0)


def _sig(*headers: str) -> frozenset[str]:
    return frozenset(headers)


def _localised(field: str) -> tuple[str, ...]:
    """The normalised French, German and Spanish headers of `field` in a Salesforce leads
    report, each once."""
    return tuple(dict.fromkeys(norm_value(headers[field]) for headers in SALESFORCE_LEADS))


PROFILES: tuple[Profile, ...] = (
    Profile(
        name="Salesforce Opportunities",
        report="Reports > New Report > Opportunities, with Opportunity ID, Opportunity Owner, "
        "Stage, Created Date, Close Date, Amount and Lead Source; Export > Details Only (CSV)",
        headers={
            "lead_id": ("opportunityid", "opportunityname"),
            "arrived_at": ("createddate", "createdate"),
            "rep_id": ("opportunityowner", "owner"),
            "stage": ("stage", "stagename"),
            "converted_at": ("closedate",),
            "amount": ("amount",),
            "source": ("leadsource",),
        },
        signatures=(
            _sig("opportunityowner", "stage", "closedate"),
            _sig("opportunityid", "stage", "closedate"),
        ),
    ),
    Profile(
        name="Salesforce Leads",
        report="Reports > New Report > Leads, with Lead ID, Lead Owner, Lead Status, Create "
        "Date, Lead Source, Rating (and Converted Date); Export > Details Only (CSV)",
        headers={
            "lead_id": ("leadid",),
            "arrived_at": ("createdate", "createddate", *_localised("arrived_at")),
            "rep_id": ("leadowner", *_localised("rep_id")),
            "stage": ("leadstatus", "status", *_localised("stage")),
            "converted_at": ("converteddate",),
            "source": ("leadsource",),
            "grade": ("rating",),
            "segment": ("industry",),
            "contact": ("email", "phone"),
            "amount": ("opportunityamount",),
        },
        signatures=(
            _sig("leadowner", "leadstatus", "createdate"),
            _sig("leadid", "leadstatus"),
            *(_sig(*map(norm_value, headers.values())) for headers in SALESFORCE_LEADS),
        ),
        won=("qualified", *QUALIFIED),
    ),
    Profile(
        name="HubSpot deals",
        report="CRM > Deals > Export (all properties, or Record ID, Deal Name, Deal Stage, "
        "Deal owner, Create Date, Close Date, Amount), CSV or XLSX",
        headers={
            "lead_id": ("recordid", "dealid"),
            "arrived_at": ("createdate",),
            "rep_id": ("dealowner",),
            "stage": ("dealstage",),
            "converted_at": ("closedate",),
            "amount": ("amount",),
            "lost_reason": ("closedlostreason",),
        },
        signatures=(_sig("dealname", "dealstage", "createdate"), _sig("recordid", "dealstage")),
    ),
    Profile(
        name="HubSpot contacts",
        report="CRM > Contacts > Export (Record ID, Contact owner, Create Date, Lifecycle "
        "Stage, Became a Customer Date, Original Source, Lead Status), CSV or XLSX",
        headers={
            "lead_id": ("recordid", "contactid"),
            "arrived_at": ("createdate",),
            "rep_id": ("contactowner",),
            "stage": ("lifecyclestage",),
            "converted_at": ("becameacustomerdate",),
            "source": ("originalsource", "originaltrafficsource"),
            "contact": ("email", "phonenumber"),
        },
        signatures=(_sig("recordid", "contactowner"), _sig("contactowner", "lifecyclestage")),
        won=("customer", "evangelist"),
    ),
    Profile(
        name="Pipedrive deals",
        report="Deals > ... > Export filter results (Deal - ID, Deal - Owner, Deal - Status, "
        "Deal - Deal created, Deal - Won time, Deal - Lost time, Deal - Value), CSV or XLSX",
        headers={
            "lead_id": ("dealid", "id"),
            "arrived_at": ("dealdealcreated", "dealcreated", "dealaddtime"),
            "rep_id": ("dealowner", "owner"),
            "stage": ("dealstatus", "status"),
            "converted_at": ("dealwontime", "wontime"),
            "lost_at": ("deallosttime", "losttime"),
            "amount": ("dealvalue", "value"),
            "source": ("dealsourcechannel", "dealsource"),
            "lost_reason": ("deallostreason", "lostreason"),
        },
        signatures=(_sig("dealid", "dealstatus"), _sig("dealstatus", "dealdealcreated")),
    ),
    Profile(
        name="Zoho CRM deals",
        report="Deals > Actions > Export (Record Id, Deal Owner, Stage, Created Time, Closing "
        "Date, Amount, Lead Source), CSV",
        headers={
            "lead_id": ("recordid", "dealid"),
            "arrived_at": ("createdtime",),
            "rep_id": ("dealowner",),
            "stage": ("stage",),
            "converted_at": ("closingdate",),
            "amount": ("amount",),
            "source": ("leadsource",),
        },
        signatures=(_sig("dealowner", "closingdate", "stage"),),
    ),
    Profile(
        name="Zoho CRM leads",
        report="Leads > Actions > Export (Record Id, Lead Owner, Lead Status, Created Time, "
        "Lead Source, Industry, Rating), CSV",
        headers={
            "lead_id": ("recordid", "leadid"),
            "arrived_at": ("createdtime",),
            "rep_id": ("leadowner",),
            "stage": ("leadstatus",),
            "source": ("leadsource",),
            "segment": ("industry",),
            "grade": ("rating",),
            "contact": ("email", "mobile", "phone"),
        },
        signatures=(_sig("leadowner", "leadstatus", "createdtime"),),
    ),
    Profile(
        name="Odoo CRM (crm.lead)",
        report="CRM > Pipeline, list view, filter Archived + Active (lost opportunities are "
        "archived), select all > Export: ID, Created on, Salesperson, Stage, Closed Date, "
        "Expected Revenue, Lost Reason, Source",
        headers={
            "lead_id": ("id", "externalid"),
            "arrived_at": ("createdon",),
            "rep_id": ("salesperson",),
            "stage": ("stage",),
            "converted_at": ("closeddate",),
            "amount": ("expectedrevenue",),
            "source": ("source",),
            "segment": ("salesteam",),
            "lost_reason": ("lostreason",),
        },
        signatures=(
            _sig("createdon", "salesperson", "stage"),
            _sig("expectedrevenue", "stage", "lostreason"),
        ),
    ),
)
"""The recognised CRM exports; `docs/analyst/data.md` cites where each header list comes
from."""

GENERIC = "generic"
"""The profile name of a file matching no CRM profile: read with the generic headers."""


def detect(headers: Iterable[str]) -> Profile | None:
    """The profile whose identifying headers the normalised `headers` hold (the one with the
    most of them when several do), or None."""
    have = list(headers)
    best: Profile | None = None
    score = 0
    for profile in PROFILES:
        found = profile.matches(have)
        if found > score:
            best, score = profile, found
    return best


CHINESE_WON = (
    "成交", "已成交", "赢单", "已赢单", "签约", "已签约", "已签单", "成单", "已转化", "已转换",
    "转客户", "已转客户", "已回款", "赢单（已回款）", "已签合同", "合同签订", "签订合同",
    "已签订合同", "已付款",
)  # fmt: skip
"""The stage words of Chinese CRMs and hand-kept sheets read as won: a contract signed (签约,
已签合同), a deal closed (成交, 赢单) or paid (已付款, 已回款), a lead converted (已转化, or 已转换:
转换 is how Salesforce's Chinese, among others, writes a lead's Convert)."""
CHINESE_LOST = (
    "输单", "丢单", "已输单", "战败", "已流失", "流失", "失败", "放弃", "已放弃", "无意向",
    "关闭", "已关闭", "无效", "无效线索", "已作废", "作废", "空号", "停机", "错号",
    "重复线索",
)  # fmt: skip
"""Read as lost (closed without a sale): lost to a competitor or given up (输单, 放弃, 无意向);
a lead that could never buy (无效, 空号, 停机, 错号: a dead or wrong number; 重复线索: a
duplicate, whose sale, if any, is on the other record). 关闭 / 已关闭 are lost: the CRMs that
write them write 赢单 / 成交 for a win, so a team whose 关闭 means won says `--won 关闭`."""
CHINESE_OPEN = (
    "跟进中", "跟进", "待跟进", "新线索", "已联系", "初步接触", "需求确认", "方案报价",
    "商务谈判", "意向", "意向客户", "洽谈中", "报价", "谈判",
)  # fmt: skip
"""Read as open: a deal still being worked, from the first call to the negotiation."""
NEGATIONS = ("未", "不", "没有", "没", "尚未", "暂未", "非")
"""Words that turn a won word into its opposite (未成交, 没有签约): such a stage is never won;
it is read as open, since it may mean lost or not yet, which `--lost` settles."""

WON_VALUES = frozenset(
    norm_value(v)
    for v in (
        "won", "closed won", "closed-won", "deal won", "converted", "closed - converted",
        "qualified - converted", "customer", "signed", "successfully realized",
        *CHINESE_WON, *LOCALE_WON,
    )
)  # fmt: skip
"""Stage / status values recognised as won."""
LOST_VALUES = frozenset(
    norm_value(v)
    for v in (
        "lost", "closed lost", "closed-lost", "deal lost", "closed - not converted",
        "closed-lost to competition", "lost lead", "junk lead", "not qualified",
        "unqualified", "disqualified", "dead", "deal failed", "closed and not realized",
        *CHINESE_LOST, *LOCALE_LOST,
    )
)  # fmt: skip
"""Stage / status values recognised as lost (closed without a sale)."""
OPEN_VALUES = frozenset(
    norm_value(v)
    for v in (
        "open", "new", "in progress", "open - not contacted", "working - contacted", "working",
        "nurturing",
        "not contacted", "attempted to contact", "contacted", "contact in future",
        "pre-qualified", "open deal", "connected", "bad timing", "engaging", "prospecting",
        "qualification", "needs analysis", "value proposition", "id. decision makers",
        "perception analysis", "proposal/price quote", "negotiation/review",
        "appointmentscheduled", "qualifiedtobuy", "presentationscheduled",
        "decisionmakerboughtin", "contractsent", "lead", "subscriber", "marketingqualifiedlead",
        "salesqualifiedlead", "opportunity", "qualified", "proposition", *CHINESE_OPEN,
        *LOCALE_OPEN,
    )
)  # fmt: skip
"""Stage / status values recognised as open (a deal still being worked); any value in none of
the three sets is open too, but `History.outcomes` says it was not recognised. Values are
compared whole (after `norm_value`), never by a part: 未成交 holds 成交 but is not it."""


def negated_won(key: str) -> bool:
    """Whether a normalised stage value is a negation followed by a won word (未成交, 不签约,
    没有成交)."""
    return any(key.startswith(word) and key[len(word) :] in WON_VALUES for word in NEGATIONS)


@dataclass
class Outcomes:
    """Maps the values of one stage / status column to won / lost / open and counts them.

    The team's `won` / `lost` values win over the recognised ones (a team whose "Closed" means
    won says so); a value in both is a contradiction the caller reports. `why` of a value says
    which rule mapped it, so `History.outcomes` shows a mis-mapping at once."""

    profile: Profile | None = None
    won: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()
    _won: frozenset[str] = field(init=False)
    _lost: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self._won = frozenset(map(norm_value, self.won))
        self._lost = frozenset(map(norm_value, self.lost))

    def both(self) -> list[str]:
        """Values given as both won and lost."""
        return [value for value in self.won if norm_value(value) in self._lost]

    def unmatched(self, values: Iterable[str]) -> list[tuple[str, str]]:
        """(option, value) for each `won` / `lost` value the team gave that none of `values`
        (the stage texts found) is, compared as `outcome_of` compares: a typo (`Lostt`) that
        would otherwise leave its stage read by the built-in names, or open, without a word."""
        found = set()
        for value in values:  # a stage qualified with its reason is its stage too
            found |= {norm_value(value), norm_value(_stage_part(value))}
        return [
            (option, value)
            for option, given in (("won", self.won), ("lost", self.lost))
            for value in given
            if norm_value(value) not in found
        ]

    def outcome_of(self, value: str) -> tuple[str, str]:
        """(status, why) of one non-blank stage or status value."""
        key = norm_value(value)
        if key in self._won:
            return "won", "given as won"
        if key in self._lost:
            return "lost", "given as lost"
        if self.profile is not None:
            if key in map(norm_value, self.profile.won):
                return "won", f"{self.profile.name}: won"
            if key in map(norm_value, self.profile.lost):
                return "lost", f"{self.profile.name}: lost"
        if negated_won(key):
            return "open", _NEGATED
        if key in WON_VALUES:
            return "won", "recognised: won"
        if key in LOST_VALUES:
            return "lost", "recognised: lost"
        if key in OPEN_VALUES:
            return "open", "recognised: open"
        head = _stage_part(value)
        if head != value:  # a stage the team qualified with its reason: read as the stage
            status, why = self.outcome_of(head)
            if why == _NEGATED:
                return status, why
            if why != UNRECOGNISED and status != "open":
                return status, f"{why} ({QUALIFIED_WHY} {head.strip()!r})"
        return "open", UNRECOGNISED

    def names_stage(self, value: str) -> bool:
        """Whether `value` is a stage name, recognised or given: not a value read as open for
        want of one, nor a negated won word (a yes / no column writing 没有成交 is no stage
        column)."""
        return self.outcome_of(value)[1] not in (UNRECOGNISED, _NEGATED)


_QUALIFIED = re.compile(r"\s+[-–—]\s+|\s*[:(]\s*")
"""What separates a stage from the reason a team adds to it: `Closed Lost - No Budget`,
`Won (Renewal)`, `Lost: competitor` (not a comma or slash: `Lost/Won` says two stages)."""


def _stage_part(value: str) -> str:
    """The stage a value begins with, before the reason a team added (`_QUALIFIED`); the whole
    value when it has none."""
    return _QUALIFIED.split(value, maxsplit=1)[0]


QUALIFIED_WHY = "begins with"
"""How `History.outcomes` says a value was read by the stage it begins with."""
UNRECOGNISED = "not recognised, so open"
"""How `History.outcomes` says a value no stage name matched was read."""
_NEGATED = "a won word negated, so not won: open (--lost if it means lost)"
