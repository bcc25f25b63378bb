"""The words exports write in their cells, as `leadrouter.sim.cells` reads them: placeholders
for "no value", words for "not yet" and "no rep", yes / no in English, Chinese, French, German
and Spanish, Chinese
multipliers of amounts (5.8万), and why long numeric ids repeat.

Kept apart from the parsers so the vocabulary reads as one list, and grows in one place.
"""

from __future__ import annotations

import re

from leadrouter._written import NO, YES

__all__ = [
    "EXCEL_ERRORS",
    "FALSE",
    "HEADER_SCALE",
    "NOBODY",
    "NOT_YET",
    "NULLS",
    "SCALED",
    "SCALES",
    "TRUE",
    "WORDS",
    "digits_lost",
    "no_arrival",
]

NULLS = frozenset(
    {
        "", "-", "--", "—", "/", "n/a", "na", "nan", "nat", "null", "none", "#n/a", "#nv", "#n/d",
        "#н/д", "无", "暂无",
    }
)  # fmt: skip
EXCEL_ERRORS = frozenset(
    {
        "#null!", "#div/0!", "#value!", "#ref!", "#name?", "#num!", "#spill!", "#calc!",
        "#getting_data", "#field!", "#blocked!", "#connect!", "#busy!", "#unknown!",
        "#wert!", "#bezug!", "#zahl!", "#überlauf!", "#kalk!",  # German
        "#valeur!", "#nom?", "#nombre!", "#nul!", "#propager!", "#calcul!",  # French
        "#¡valor!", "#¡ref!", "#¿nombre?", "#¡num!", "#¡nulo!", "#¡div/0!", "#¡desbordamiento!",
        "#valor!", "#nome?", "#núm!", "#nulo!",  # Portuguese
        "#значен!", "#ссылка!", "#имя?", "#число!", "#пусто!", "#дел/0!",  # Russian
    }
)  # fmt: skip
"""What Excel shows, and a sheet saved as CSV writes, where a formula failed (lower case), in
the languages whose exports leadrouter reads and the common others: no value. `#N/A` (`#NV`,
`#N/D`, `#Н/Д`), a lookup that found nothing, is read as blank, as CRMs and sheets write it for
"none"."""
NOT_YET = frozenset({"未跟进", "未联系", "未处理", "未触达", "未回访", "未拨打", "not yet"})
"""Words a time column writes for "has not happened": read as no time."""
NOBODY = frozenset(
    {"公海", "未分配", "待分配", "无人", "无负责人", "unassigned", "(none)", "nobody", "no owner"}
)
"""Words an owner column writes for "no rep" (公海 is the pool, not a rep): read as no rep."""
TRUE = (*YES, "有效", "接通", "已接通", "成交", "已成交", "有效线索", "已转化", "已转换", "已联系")
FALSE = (*NO, "无效", "未接通", "未成交", "无效线索", "未转化", "未转换", "未联系")
"""Yes / no as an export's cells write them: the words of every yes / no cell
(`leadrouter._written.YES` / `NO`, shared with the roster, in English, Chinese, French, German
and Spanish), and the Chinese words of a lead's outcome columns (有效 valid, 接通 reached,
成交 sold)."""
WORDS: dict[str, bool | None] = {
    **dict.fromkeys(TRUE, True),
    **dict.fromkeys(FALSE, False),
    **dict.fromkeys(("待确认", "未确认", "待定", "不确定", "未知", "unknown", "?"), None),
}
"""Yes / no words, lower case and unaccented, as looked up with
`leadrouter._written.unaccented` of the lower-cased cell; None: the cell says the answer is not
known yet (read as unknown)."""
SCALES = {"千": 1e3, "万": 1e4, "百万": 1e6, "千万": 1e7, "亿": 1e8}
SCALED = re.compile(r"^(.*\d)\s*(百万|千万|千|万|亿)$")
"""A number written with a Chinese multiplier, `5.8万` (58,000), after units are taken off."""
HEADER_SCALE = re.compile(r"[(（\[【]\s*(百万|千万|千|万|亿)\s*元?\s*[)）\]】]")
"""A header whose bracketed unit multiplies every value: `成交金额（万元）`, `费用(千元)`."""


LONG_NUMBER = re.compile(r"\d{16,}|\d(?:\.\d+)?[eE]\+?\d+")


def digits_lost(lead_id: str) -> str:
    """Why a long numeric id can repeat: a spreadsheet keeps 15 significant digits of a number,
    so ids of 16 or more digits stored as numbers collapse into each other (695123456789012345
    and ...346 both become ...352), or are shown as 6.95E+17."""
    if not LONG_NUMBER.fullmatch(lead_id):
        return ""
    return (
        " (an id of 16 or more digits stored as a number keeps only 15 of them in Excel, so "
        "different ids become one: format the id column as text and export again)"
    )


SUMMARY = re.compile(
    r"(?i)[\s\"']*(?:(?:(?:grand\s+|sub)?totals?(?:\s+g[eé]n[eé]ral)?|sum|summe|gesamt"
    r"|gesamtergebnis|somme|totale|合计|总计|小计)(?=[\s\"']*(?:$|[:：(（\d]))"
    r"|confidential information|copyright\s*(?:\(c\)|©)?\s*\d{4})"
)
"""The lead id of a line under the leads that is no lead: a totals row (Total, Grand Totals
(80 records), Subtotal: 12, Total général, Summe, 合计) or a report's footer (Salesforce ends its
exports with "Confidential Information - Do Not Distribute" and "Copyright (c) 2000-2026 ...").
The word stands alone or before a count, so a lead named "Total Energies" is not one."""


def no_arrival(lead_id: str | None, written_in: str | None = None) -> str:
    """Why a row without an arrival time is rejected, naming a totals row or a report footer as
    such, so the reader knows the row was never a lead and how to keep it out of the export.
    `lead_id` is the row's lead id, or, on a row without one, its first cell, which
    `written_in` names the column of: a report's totals and footer lines start in its first
    column, whichever field that is (Salesforce's reports often start with the owner)."""
    if lead_id is not None and SUMMARY.match(lead_id):
        where = f" (column {written_in!r})" if written_in is not None else ""
        return (
            f"no arrival time: {lead_id!r}{where} is a totals row or a report footer, not a "
            "lead (nothing is lost; delete such lines from the export to keep them out of the "
            "count)"
        )
    return "no arrival time: every lead needs one"
