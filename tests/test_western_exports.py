"""load_export on exports as US and European CRMs and Excel write them: Pipedrive's dotted
European dates, Salesforce amounts in several currencies, a leads report's opportunity amount,
and the totals and footer rows under a report. Each file is small and written as the CRM
writes it, so a misreading shows as a wrong date, amount or outcome, never as a crash."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from leadrouter.sim import History, load_export


def load(tmp_path: Path, text: str, **options: Any) -> History:
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    return load_export(path, **options)


def utc(year: int, month: int, day: int, hour: int = 0) -> pd.Timestamp:
    return pd.Timestamp(datetime(year, month, day, hour, tzinfo=UTC))


PIPEDRIVE = (
    "Deal - ID;Deal - Owner;Deal - Status;Deal - Deal created;Deal - Value\n"
    "1;Jürgen Müller;won;03.01.2026 09:00;12.500,00 €\n"
    "2;Zoë Lefèvre;lost;05.01.2026 10:00;1.250,50 €\n"
    "3;Zoë Lefèvre;open;07.01.2026 11:00;900,00 €\n"
)


def test_dotted_dates_are_day_first_even_when_no_day_is_above_twelve(tmp_path: Path) -> None:
    history = load(tmp_path, PIPEDRIVE, tz="UTC")
    assert history.to_frame()["arrived_at"].tolist() == [
        utc(2026, 1, 3, 9),
        utc(2026, 1, 5, 10),
        utc(2026, 1, 7, 11),
    ]
    note = history.flagged[history.flagged["column"] == "Deal - Deal created"].iloc[0]
    assert note["row"] == 2
    assert "'03.01.2026 09:00' is written with dots (dd.mm.yyyy), a day-first" in note["reason"]
    # an explicit choice still wins
    month_first = load(tmp_path, PIPEDRIVE, tz="UTC", dayfirst=False)
    assert month_first.to_frame()["arrived_at"].iloc[0] == utc(2026, 3, 1, 9)
