"""Which column of an export holds which field: the headers read without a map, and the map.

`load_export` reads a file's headers here before it reads a row: the explicit `columns=` map
first (`{file header: field}`, like `DataFrame.rename`), then the headers of a CRM's default
export (`leadrouter.sim.profiles`), then the common English and Chinese CRM headers of `ALIASES`
and the French, German and Spanish ones of `leadrouter.sim.locales` (case, spaces, underscores,
accents and bracketed units ignored: `_norm`), best alias first; a header serves one field. A
map written the wrong way round, naming a header the file lacks or a field that does not exist,
is an error that shows the entry as it should be written - in the Python form or, for the
`leadrouter` commands, as their `--columns FIELD=HEADER` flags (`columns_from_flags`, checked
before any file is read).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from leadrouter.errors import Audience, ConfigError, InvalidExportError, MissingColumnError
from leadrouter.sim.cells import _COLUMNS
from leadrouter.sim.fields import COLUMNS
from leadrouter.sim.locales import HEADERS as LOCALE_HEADERS
from leadrouter.sim.locales import unaccented

if TYPE_CHECKING:
    from leadrouter.sim.profiles import Profile

__all__ = [
    "ALIASES",
    "CURRENCY",
    "LOST_REASON",
    "MONEY",
    "column_map_direction",
    "columns_from_flags",
    "converted",
    "converted_notes",
]

ALIASES: dict[str, tuple[str, ...]] = {
    "lead_id": (
        "leadid", "leadno", "leadnumber", "leadcode", "lead", "id", "recordid", "opportunityid",
        "dealid",
        "线索id", "线索编号", "线索编码", "线索号", "资源id", "资源编号", "客户id", "客户编号",
    ),
    "arrived_at": (
        "arrivedat", "arrived", "arrivaltime", "createdat", "created", "createddate",
        "createdtime", "createdon", "createtime", "createdate", "creationdate", "creationtime",
        "leadcreated", "leadcreateddate", "submittedat", "submittime",
        "创建时间", "进线时间", "线索创建时间", "获取时间", "录入时间", "提交时间", "留资时间",
        "创建日期", "进线日期", "engagedate", "engagedat",
    ),
    "source": (
        "source", "leadsource", "channel", "utmsource",
        "来源", "渠道", "线索来源", "来源渠道", "推广渠道", "渠道来源",
    ),
    "region": (
        "region", "area", "territory", "province",
        "地区", "区域", "所属区域", "省份", "大区",
    ),
    "product": (
        "product", "productinterest", "interestedproduct",
        "产品", "意向产品", "咨询产品", "产品线",
    ),
    "segment": (
        "segment", "customersegment", "customertype", "industry", "vertical",
        "客户类型", "行业", "客户类别", "客户分类", "所属行业",
    ),
    "grade": (
        "grade", "leadgrade", "rating", "leadrating",
        "等级", "线索等级", "客户等级", "级别",
    ),
    "score": ("score", "leadscore", "评分", "线索评分", "分数", "得分"),
    "cost": (
        "cost", "leadcost", "cpl", "costperlead",
        "成本", "线索成本", "获客成本", "线索单价",
    ),
    "contact": (
        "contact", "phone", "mobile", "phonenumber", "mobilephone", "tel", "telephone", "email",
        "联系方式", "手机号", "手机", "手机号码", "电话", "联系电话",
    ),
    "rep_id": (
        "repid", "rep", "owner", "ownerid", "ownername", "leadowner", "assignedto", "assignee",
        "salesrep", "salesperson", "agent", "salesagent", "dealowner", "opportunityowner",
        "contactowner",
        "负责人", "销售", "跟进人", "销售员", "归属人", "所属销售", "顾问", "负责销售",
        "销售顾问", "跟进销售", "线索负责人", "客户负责人", "商机负责人", "所有人", "拥有者",
    ),
    "assigned_at": (
        "assignedat", "assigned", "assigneddate", "assignedtime", "assignmenttime", "assigntime",
        "分配时间", "分派时间", "分配日期",
    ),
    "first_touch_at": (
        "firsttouchat", "firsttouch", "firstcontact", "firstcontactat", "firstcontacted",
        "firstcontactdate", "firstcontacttime", "firstcall", "firstcallat", "firstcalltime",
        "firstresponse", "firstresponseat", "firstresponsetime", "firstactivity",
        "firstactivityat",
        "首次跟进时间", "首次联系时间", "首呼时间", "首次拨打时间", "首次跟进", "首次响应时间",
    ),
    "reached": (
        "reached", "connected", "contacted", "isconnected", "callconnected",
        "是否接通", "接通", "是否联系上", "已接通",
    ),
    "valid": ("valid", "isvalid", "qualified", "isqualified", "是否有效", "有效", "有效性"),
    "converted_at": (
        "convertedat", "converteddate", "convertedon", "convertedtime", "conversiondate",
        "conversiontime", "closedate", "closedat", "wonat", "wondate", "wontime", "dealdate",
        "closeddate",
        "成交时间", "成交日期", "签约时间", "签单时间", "转化时间",
    ),
    "amount": (
        "amount", "dealamount", "dealvalue", "closevalue", "revenue", "value", "saleamount",
        "expectedrevenue", "opportunityamount",
        "成交金额", "金额", "签约金额", "订单金额", "成交额",
    ),
    "stage": (
        "status", "dealstatus", "leadstatus", "opportunitystatus", "stage", "dealstage",
        "opportunitystage", "stagename", "salesstage", "pipelinestage",
        "状态", "线索状态", "阶段", "销售阶段", "商机阶段", "跟进状态", "商机状态",
    ),
    "lost_at": (
        "lostat", "losttime", "lostdate", "lostdatetime", "closedlostdate",
        "输单时间", "输单日期", "丢单时间",
    ),
    "lost_reason": (
        "lostreason", "closedlostreason", "lossreason", "deallostreason",
        "输单原因", "丢单原因", "战败原因",
    ),
    "converted": ("converted", "isconverted", "won", "iswon", "是否成交", "成交", "已成交"),
    "propensity": (
        "propensity", "assignmentpropensity", "assignmentprobability", "pscore",
        "分配概率",
    ),
    "currency": (
        "amountcurrency", "opportunitycurrency", "dealcurrency", "currency", "currencycode",
        "currencyisocode", "dealcurrencycode",
        "币种", "货币",
    ),
}  # fmt: skip
"""Headers recognised for each field without a `columns=` map, normalised (`_norm`: lower case;
spaces, underscores, hyphens, dots, apostrophes, accents and bracketed units removed), in order
of preference: English, Chinese, then the French, German and Spanish ones of
`leadrouter.sim.locales`."""

LOST_REASON = "lost_reason"
"""Not a History field: a column whose non-blank value marks a deal lost (unless it is won);
it stays in the History as a lead feature."""
CURRENCY = "currency"
"""Not a History field: a column naming the currency of each row's amount (Salesforce's Amount
Currency, Pipedrive's Deal - Currency, HubSpot's Currency), read so that amounts in two
currencies are not added up; it stays in the History as a lead feature."""
_TARGETS = {
    "id": "lead_id",
    "status": "stage",
    LOST_REASON: LOST_REASON,
    CURRENCY: CURRENCY,
    **{name: name for name in COLUMNS},
}


_BRACKETED = re.compile(r"[(（\[【]([^)）\]】]*)[)）\]】]")
_CONVERTED = frozenset({"converted", "converti", "convertie", "umgerechnet", "convertido"})
"""What a CRM writes in brackets after a money header whose values it converted to the org's
one currency: Salesforce's `Amount (converted)`, in French, German and Spanish too."""
MONEY = ("amount", "cost")


def _norm(header: str) -> str:
    """A header as ALIASES spell it: no BOM, bracketed units, spaces, separators, apostrophes
    or accents (`Propriétaire de l'opportunité` is `proprietairedelopportunite`); lower case."""
    text = _BRACKETED.sub("", unaccented(header.replace("\ufeff", "")))
    return re.sub(r"[\s_\-./:：·'’]+", "", text).lower()


ALIASES.update(
    {
        field: (
            *ALIASES[field],
            *(alias for alias in dict.fromkeys(map(_norm, written)) if alias not in ALIASES[field]),
        )
        for field, written in LOCALE_HEADERS.items()
    }
)


def converted(header: str) -> bool:
    """Whether a header says its amounts are converted to one currency (`Amount (converted)`):
    such a column is read before the one it converts, whose rows may be in many currencies."""
    return any(_norm(inner) in _CONVERTED for inner in _BRACKETED.findall(header))


def column_map_direction(audience: Audience) -> str:
    """How a column map is written, for every message about one: a Python `columns=` map
    renames like `DataFrame.rename` ({file header: field}); the command's `--columns` names the
    field first (FIELD=HEADER), as in "rep_id is held by 'Owner Name'"."""
    if audience == "python":
        return "columns= maps each file header to its field ({'file header': 'field'})"
    return "--columns takes FIELD=HEADER, the field first"


def _not_a_field(header: str, field: str, headers: list[str] | None, audience: Audience) -> str:
    """Why the entry {header: field} is wrong, and the entry meant: the same turned round when
    `header` is a field and `field` is not (and is a header of the file, when `headers` are
    known), else the closest field."""
    direction = column_map_direction(audience)
    known = None if headers is None else {_norm(h) for h in headers}
    if header in _TARGETS and (known is None or _norm(field) in known):
        return (
            f"{field!r} is not a field but {header!r} is: the map is the wrong way round: "
            f"{direction}, so write {_COLUMNS.given({field: header}, audience)}"
        )
    close = difflib.get_close_matches(field, list(_TARGETS), n=1)
    meant = (
        f" (did you mean {close[0]!r}?); {direction}, so write "
        f"{_COLUMNS.given({header: close[0]}, audience)}"
        if close
        else f"; {direction}"
    )
    return f"{field!r} is not a field{meant}; the fields are {', '.join(COLUMNS)}"


def columns_from_flags(pairs: Sequence[str]) -> dict[str, str]:
    """The command's `--columns FIELD=HEADER ...` as `load_export`'s {header: field}, checked
    before any file is read: each entry has both sides and names a field, and a header or a
    field is given once. Errors show the entry as it should be written."""
    found: dict[str, str] = {}
    for pair in pairs:
        field, sep, header = (part.strip() for part in pair.partition("="))
        if not sep or not field or not header:
            example = f"{field}='Owner Name'" if field in _TARGETS else "rep_id='Owner Name'"
            raise ConfigError(
                f"--columns {pair!r}: write FIELD=HEADER, the field first, e.g. --columns {example}"
            )
        if field not in _TARGETS:
            raise ConfigError(f"--columns {pair!r}: {_not_a_field(header, field, None, 'command')}")
        if header in found:
            raise ConfigError(
                f"--columns: the header {header!r} is given for both {found[header]} and "
                f"{field}: a header holds one field"
            )
        found[header] = field
    return found


def _resolve(
    headers: list[str],
    columns: Mapping[str, str] | None,
    origin: str,
    audience: Audience,
    profile: Profile | None = None,
) -> dict[str, str]:
    """{field: header}: the explicit `columns` first, then the profile's headers, then
    recognised headers, best alias first; a header serves one field."""
    norms = {header: _norm(header) for header in headers}
    mapping: dict[str, str] = {}
    given_for: dict[str, str] = {}
    for given, field in (columns or {}).items():
        target = _TARGETS.get(str(field))
        if target is None:
            raise ConfigError(
                f"{_COLUMNS.given({given: field}, audience)}: "
                + _not_a_field(str(given), str(field), headers, audience)
            )
        header = given if given in norms else None
        if header is None:
            header = next((h for h in headers if norms[h] == _norm(str(given))), None)
        if header is None:
            close = difflib.get_close_matches(str(given), headers, n=1)
            meant = _COLUMNS.given({close[0] if close else "your header": field}, audience)
            raise MissingColumnError(
                f"{origin}: {_COLUMNS.given({given: field}, audience)} names the header "
                f"{given!r}, which is not in the file; its headers are {headers}; "
                f"{column_map_direction(audience)}, e.g. {meant}"
            )
        if target in mapping:
            raise ConfigError(
                f"{_COLUMNS.named(audience)}: both {given_for[target]!r} and {given!r} are "
                f"mapped to {target!r}: map one header per field, e.g. "
                f"{_COLUMNS.given({given_for[target]: target}, audience)}"
            )
        mapping[target] = header
        given_for[target] = str(given)
    taken = set(mapping.values())
    preferred = list(profile.headers.items()) if profile is not None else []
    for field, aliases in [*preferred, *ALIASES.items()]:
        if field in mapping:
            continue
        for alias in aliases:
            found = [h for h in headers if h not in taken and norms[h] == alias]
            if found:  # money: the converted column first; any other field: it last
                found.sort(key=lambda header: converted(header) != (field in MONEY))
                mapping[field] = found[0]
                taken.add(found[0])
                break
    return mapping


def converted_notes(
    headers: list[str], mapping: Mapping[str, str], columns: Mapping[str, str] | None
) -> list[tuple[int, str, str, str]]:
    """A header-row note for each money field read from a converted column (`Amount
    (converted)`) that `_resolve` preferred to the unconverted one beside it (`Amount`), which
    stays a lead feature; a currency column is the unconverted one's, so it is not applied."""
    given = {_TARGETS.get(str(field)) for field in (columns or {}).values()}
    notes = []
    for field in MONEY:
        header = mapping.get(field)
        if header is None or not converted(header) or field in given:
            continue
        plain = [h for h in headers if _norm(h) == _norm(header) and not converted(h)]
        if not plain:
            continue
        currency = mapping.get(CURRENCY)
        unused = f"; {currency!r} is the currency of {plain[0]!r}, not applied" if currency else ""
        notes.append(
            (
                1,
                header,
                f"both {plain[0]!r} and {header!r} are in the file",
                f"{field} read from {header!r}, converted to one currency; {plain[0]!r} kept "
                f"as a lead feature{unused}",
            )
        )
    return notes


def _unrepeated(headers: list[str]) -> list[str]:
    """The headers with each repeat renamed as pandas does ("Owner", "Owner" -> "Owner",
    "Owner.1"), skipping a name the table already has, so every column has its own name."""
    taken = set(headers)
    seen: set[str] = set()
    names = []
    for header in headers:
        name, count = header, 0
        while name in seen or (count and name in taken):
            count += 1
            name = f"{header}.{count}"
        seen.add(name)
        names.append(name)
    return names


def _column_letter(position: int) -> str:
    """A 1-based column position as a spreadsheet letters it: 1 -> A, 27 -> AA."""
    letters = ""
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _repeated_headers(
    written: list[str],
    names: list[str],
    mapping: Mapping[str, str],
    columns: Mapping[str, str] | None,
    origin: str,
    audience: Audience,
) -> list[tuple[int, str, str, str]]:
    """Check the headers written more than once (`written`: as the source has them; `names`:
    as `_unrepeated` renamed them, which `mapping` uses). A repeated header read as a field is
    an `InvalidExportError` naming its columns, since which of them holds the field cannot be
    told, unless `columns` names one of the renamed repeats ("Owner.1"), which says which.
    Otherwise each is kept, under its new name, and reported: one flag per repeated header, on
    the header row (row 1), for `History.flagged`."""
    where: dict[str, list[int]] = {}
    for position, header in enumerate(written):
        where.setdefault(header, []).append(position)
    fields = {header: field for field, header in mapping.items()}
    chosen = {_norm(str(given)) for given in (columns or {})}
    notes = []
    for header, positions in where.items():
        if len(positions) < 2:
            continue
        shown = " and ".join(f"{p + 1} ({_column_letter(p + 1)})" for p in positions)
        times = "twice" if len(positions) == 2 else f"{len(positions)} times"
        mapped = [p for p in positions if names[p] in fields]
        picked = any(_norm(names[p]) in chosen for p in positions[1:])
        if mapped and not picked:
            field = fields[names[mapped[0]]]
            renamed = ", ".join(repr(names[p]) for p in positions[1:])
            raise InvalidExportError(
                f"{origin}: the header {header!r} is written {times}, in columns "
                f"{shown}, and is read as {field}: which of them holds {field} cannot be told: "
                "rename or delete the repeats, or say which column holds it by its name as read "
                f"(the repeats are read as {renamed}), e.g. "
                f"{_COLUMNS.given({names[positions[1]]: field}, audience)} "
                f"({column_map_direction(audience)})"
            )
        read = "; ".join(
            f"column {_column_letter(p + 1)} as "
            + (fields[names[p]] if names[p] in fields else f"the lead feature {names[p]!r}")
            for p in positions
        )
        notes.append(
            (
                1,
                header,
                f"the header {header!r} is written {times} (columns {shown})",
                f"read {read}",
            )
        )
    return notes
