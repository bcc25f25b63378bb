"""load_export on exports as US and European CRMs and Excel write them: Pipedrive's dotted
European dates, Salesforce amounts in several currencies, a leads report's opportunity amount,
and the totals and footer rows under a report. Each file is small and written as the CRM
writes it, so a misreading shows as a wrong date, amount or outcome, never as a crash."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadrouter.sim import History, load_export


def load(tmp_path: Path, text: str, **options: Any) -> History:
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    return load_export(path, **options)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> pd.Timestamp:
    return pd.Timestamp(datetime(year, month, day, hour, minute, tzinfo=UTC))


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


SALESFORCE_OPPORTUNITIES = (
    "Opportunity ID,Opportunity Owner,Stage,Created Date,Close Date,Amount\n"
    '006A1,"Smith, John",Closed Won,1/5/2026,1/20/2026,"USD 12,500.00"\n'
    '006A2,"Smith, John",Closed Won,1/6/2026,1/21/2026,"$2,000.00"\n'
    '006A3,"Lee, Amy",Closed Won,1/7/2026,1/22/2026,"EUR 10,000.00"\n'
    '006A4,"Lee, Amy",Closed Won,1/8/2026,1/23/2026,"€1,250.00"\n'
    '006A5,"Lee, Amy",Closed Won,1/9/2026,1/24/2026,CHF 1\'250.00\n'
    '006A6,"Lee, Amy",Closed Won,1/9/2026,1/24/2026,"($1,250.00)"\n'
)


def test_amounts_in_another_currency_than_their_column_are_rejected_naming_both(
    tmp_path: Path,
) -> None:
    history = load(tmp_path, SALESFORCE_OPPORTUNITIES, tz="America/New_York")
    frame = history.to_frame().set_index("lead_id")
    assert frame["amount"].to_dict() == {"006A1": 12500.0, "006A2": 2000.0}
    reasons = dict(zip(history.rejected["row"], history.rejected["reason"], strict=True))
    assert sorted(reasons) == [4, 5, 6, 7]
    assert reasons[4].startswith(
        "'EUR 10,000.00' is in EUR, while the column's amounts are in USD (e.g. 'USD 12,500.00' "
        "in row 2): amounts in two currencies cannot be added up"
    )
    assert "'€1,250.00' is in EUR" in reasons[5]
    assert "is in CHF" in reasons[6]
    assert reasons[7] == "'($1,250.00)' is negative: an amount is 0 or more"


def test_currency_codes_and_swiss_or_french_thousands_are_taken_off_a_number(
    tmp_path: Path,
) -> None:
    history = load(
        tmp_path,
        "Deal - ID;Deal - Owner;Deal - Status;Deal - Deal created;Deal - Value\n"
        "1;Zoë Lefèvre;won;2026-01-05 09:00;12.500,00 EUR\n"
        "2;Zoë Lefèvre;won;2026-01-06 09:00;eur 3\u202f200,50\n"
        "3;Zoë Lefèvre;won;2026-01-07 09:00;1'250,00 €\n",
        tz="Europe/Berlin",
    )
    assert history.rejected.empty
    assert history.to_frame()["amount"].tolist() == [12500.0, 3200.5, 1250.0]


SALESFORCE_LEADS = (
    "Lead ID,Lead Owner,Lead Status,Create Date,Converted,Converted Date,Opportunity Amount\n"
    '00Q01,"Smith, John",Qualified,1/5/2026 9:15 AM,1,1/9/2026,"$5,000.00"\n'
    '00Q02,"Smith, John",Working,1/5/2026 10:15 AM,0,,\n'
    '00Q03,"García, José",Unqualified,1/6/2026 12:05 PM,0,,\n'
    '00Q04,"García, José",Nurturing,1/6/2026 11:15 PM,0,,\n'
    '00Q05,"García, José",New,1/7/2026 12:30 AM,0,,\n'
)


def test_salesforce_default_lead_statuses_read_qualified_as_converted(tmp_path: Path) -> None:
    history = load(tmp_path, SALESFORCE_LEADS, tz="America/New_York")
    assert history.profile == "Salesforce Leads"
    assert history.rejected.empty
    assert history.columns["amount"] == "Opportunity Amount"
    frame = history.to_frame().set_index("lead_id")
    assert frame["stage"].to_dict() == {
        "00Q01": "won",
        "00Q02": "open",
        "00Q03": "lost",
        "00Q04": "open",
        "00Q05": "open",
    }
    assert frame.loc["00Q01", "amount"] == 5000.0
    assert frame.loc["00Q05", "arrived_at"] == utc(2026, 1, 7, 5, 30)  # 12:30 AM, New York
    why = history.outcomes.set_index("value")["why"].to_dict()
    assert why["Qualified"] == "Salesforce Leads: won"
    assert why["Working"] == why["Nurturing"] == "recognised: open"


def test_a_converted_lead_with_an_open_status_names_the_option_that_reads_it_won(
    tmp_path: Path,
) -> None:
    text = "Lead ID,Owner,Status,Created,Converted\nL1,Amy,Qualified,2026-01-05 09:00,yes\n"
    history = load(tmp_path, text + "L2,Amy,New,2026-01-05 10:00,no\n", tz="UTC")
    assert history.rejected.to_dict("records") == [
        {
            "row": 2,
            "column": "Converted",
            "reason": "converted, but 'Status' is 'Qualified' (open): a converted lead is won: "
            "give won=['Qualified'] if that is the status your CRM gives converted leads, else "
            "fix one of the two",
        }
    ]
    assert load(tmp_path, text, tz="UTC", won=["Qualified"]).to_frame()["converted"].all()


def test_hubspot_evangelists_were_customers(tmp_path: Path) -> None:
    history = load(
        tmp_path,
        "Record ID,Contact owner,Lifecycle Stage,Create Date\n"
        "1,Amy Lee,Evangelist,2026-01-05T14:03:11Z\n"
        "2,Amy Lee,Customer,2026-01-05T15:03:11Z\n"
        "3,Amy Lee,Lead,2026-01-05T16:03:11Z\n",
    )
    assert history.to_frame()["stage"].tolist() == ["won", "won", "open"]


def test_a_reports_totals_row_and_footer_are_rejected_as_such(tmp_path: Path) -> None:
    rows = SALESFORCE_LEADS.splitlines()
    footer = [
        ",,,,,,",
        'Grand Totals (5 records),,,,,,"$5,000.00"',
        "",
        '"Confidential Information - Do Not Distribute"',
        '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."',
    ]
    history = load(tmp_path, "\n".join([*rows, *footer]) + "\n", tz="America/New_York")
    assert len(history) == 5
    reasons = dict(zip(history.rejected["row"], history.rejected["reason"], strict=True))
    assert sorted(reasons) == [8, 10, 11]
    assert reasons[8] == (
        "no arrival time: 'Grand Totals (5 records)' is a totals row or a report footer, not a "
        "lead (nothing is lost; delete such lines from the export to keep them out of the count)"
    )
    assert all("is a totals row or a report footer" in reason for reason in reasons.values())


def test_a_report_starting_with_its_owner_column_has_its_totals_and_footer_named(
    tmp_path: Path,
) -> None:
    # a Salesforce report's lines under the leads start in its first column, here the owner's
    history = load(
        tmp_path,
        '"Opportunity Owner","Opportunity ID","Stage","Amount","Created Date"\n'
        '"Amy Lee","006A1","Closed Won","USD 1,200.00","1/13/2026"\n'
        '"Amy Lee","006A2","Prospecting","USD 800.00","1/14/2026"\n'
        '"Grand Totals (2 records)","","","USD 2,000.00",""\n'
        "\n"
        '"Confidential Information - Do Not Distribute"\n'
        '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."\n',
        tz="America/New_York",
    )
    assert history.to_frame()["lead_id"].tolist() == ["006A1", "006A2"]
    assert history.rejected.to_dict("records") == [
        {
            "row": row,
            "column": "Created Date",
            "reason": f"no arrival time: {line!r} (column 'Opportunity Owner') is a totals row "
            "or a report footer, not a lead (nothing is lost; delete such lines from the export "
            "to keep them out of the count)",
        }
        for row, line in [
            (4, "Grand Totals (2 records)"),
            (6, "Confidential Information - Do Not Distribute"),
            (7, "Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."),
        ]
    ]
    assert history.flagged.empty  # a footer line is short by nature: not a file cut off


def test_a_lead_whose_id_starts_with_total_is_not_called_a_totals_row(tmp_path: Path) -> None:
    history = load(
        tmp_path,
        "Lead ID,Lead Owner,Create Date\n"
        "Total Energies 7,Amy,\n"
        "Summer Sale 3,Amy,\n"
        "L3,Amy,2026-01-05 09:00\n"
        "Total général,,\n"
        "Subtotal: 1,,\n",
        tz="UTC",
    )
    reasons = dict(zip(history.rejected["row"], history.rejected["reason"], strict=True))
    assert reasons[2] == reasons[3] == "no arrival time: every lead needs one"
    assert "'Total général' is a totals row" in reasons[5]
    assert "'Subtotal: 1' is a totals row" in reasons[6]


SALESFORCE_CURRENCY_COLUMN = (
    "Opportunity ID,Opportunity Owner,Stage,Created Date,Close Date,Amount Currency,Amount\n"
    '006B1,"Smith, John",Closed Won,1/5/2026,1/20/2026,USD,"12,500.00"\n'
    '006B2,"Smith, John",Closed Won,1/6/2026,1/21/2026,USD,"2,000.00"\n'
    '006B3,"Lee, Amy",Closed Won,1/7/2026,1/22/2026,EUR,"10,000.00"\n'
    '006B4,"Lee, Amy",Closed Lost,1/8/2026,1/23/2026,EUR,\n'
)


def test_a_currency_column_beside_the_amounts_rejects_the_rows_in_another_currency(
    tmp_path: Path,
) -> None:
    history = load(tmp_path, SALESFORCE_CURRENCY_COLUMN, tz="America/New_York")
    assert history.rejected.to_dict("records") == [
        {
            "row": 4,
            "column": "Amount",
            "reason": "'10,000.00' is in EUR by its 'Amount Currency', while the column's "
            "amounts are in USD (e.g. '12,500.00' in row 2): amounts in two currencies cannot be "
            "added up; export the amounts converted to one currency (Salesforce: add Amount "
            "(converted) to the report, which is read instead of Amount; Pipedrive: the value "
            "in the default currency)",
        }
    ]
    frame = history.to_frame().set_index("lead_id")
    assert list(frame.index) == ["006B1", "006B2", "006B4"]
    assert frame["amount"].dropna().to_dict() == {"006B1": 12500.0, "006B2": 2000.0}
    assert frame["Amount Currency"].tolist() == ["USD", "USD", "EUR"]  # kept as a feature
    note = history.flagged[history.flagged["row"] == 1].to_dict("records")
    assert note == [
        {
            "row": 1,
            "column": "Amount Currency",
            "reason": "read as the currency of each amount in 'Amount': USD on 2 rows, EUR on 1 "
            "row",
            "action": "the amounts not in USD rejected (see the rejected rows)",
        }
    ]


def test_a_currency_column_checks_amounts_typed_as_numbers_and_their_own_marks(
    tmp_path: Path,
) -> None:
    path = tmp_path / "deals.xlsx"
    pd.DataFrame(
        {
            "Deal - ID": [1, 2, 3, 4],
            "Deal - Owner": ["Ana", "Ana", "Ben", "Ben"],
            "Deal - Status": ["won", "won", "won", "won"],
            "Deal - Deal created": ["2026-01-05 09:00"] * 4,
            "Deal - Value": [1200.0, 800.0, 500.0, 700.0],
            "Deal - Currency": ["EUR", "EUR", "GBP", "EUR"],
        }
    ).to_excel(path, index=False)
    history = load_export(path, tz="UTC")
    reasons = dict(zip(history.rejected["row"], history.rejected["reason"], strict=True))
    assert list(reasons) == [4]
    assert reasons[4].startswith("'500' is in GBP by its 'Deal - Currency', while the column's")
    marked = load(
        tmp_path,
        "Record ID,Deal Name,Deal Stage,Create Date,Amount,Currency\n"
        "1,A,closedwon,2026-01-05T09:00:00Z,USD 900,USD\n"
        "2,B,closedwon,2026-01-05T10:00:00Z,USD 300,EUR\n",
    )
    assert marked.rejected.to_dict("records")[0]["reason"].startswith(
        "'USD 300' is marked USD, but its row's 'Currency' says 'EUR': which is right cannot "
        "be told; export the amounts converted to one currency"
    )
    assert marked.to_frame()["amount"].tolist() == [900.0]


def test_a_dollar_or_yen_sign_is_the_currency_its_row_names_when_it_can_be(
    tmp_path: Path,
) -> None:
    """`$` is written for Canadian and Australian dollars too, `¥` for yen: beside a currency
    column naming one of them, the sign agrees with it; beside another, it still clashes."""
    history = load(
        tmp_path,
        "Opportunity ID,Opportunity Owner,Stage,Created Date,Amount Currency,Amount\n"
        '1,Amy,Closed Won,2026-01-05,CAD,"$1,000.00"\n'
        '2,Amy,Closed Won,2026-01-06,CAD,"$2,000.00"\n'
        '3,Amy,Closed Won,2026-01-07,USD,"$3,000.00"\n'
        "4,Amy,Closed Won,2026-01-08,EUR,$400\n",
        tz="UTC",
    )
    assert history.to_frame()["amount"].tolist() == [1000.0, 2000.0]
    reasons = dict(zip(history.rejected["row"], history.rejected["reason"], strict=True))
    assert reasons[4].startswith(
        "'$3,000.00' is in USD by its 'Amount Currency', while the column's amounts are in CAD"
    )
    assert reasons[5].startswith("'$400' is marked USD, but its row's 'Amount Currency' says 'EUR'")
    yen = load(
        tmp_path,
        "Record ID,Deal Name,Deal Stage,Create Date,Amount,Currency\n"
        "1,A,closedwon,2026-01-05T09:00:00Z,¥120000,JPY\n"
        "2,B,closedwon,2026-01-05T10:00:00Z,¥80000,JPY\n",
    )
    assert yen.rejected.empty
    assert yen.to_frame()["amount"].tolist() == [120000.0, 80000.0]


def test_one_currency_in_the_currency_column_is_said_and_nothing_rejected(
    tmp_path: Path,
) -> None:
    history = load(
        tmp_path,
        "Deal - ID;Deal - Owner;Deal - Status;Deal - Deal created;Deal - Value;Deal - Currency\n"
        "1;Zoë;won;2026-01-05 09:00;12.500,00;EUR\n"
        "2;Zoë;lost;2026-01-06 09:00;;\n",
        tz="Europe/Berlin",
    )
    assert history.rejected.empty
    note = history.flagged[history.flagged["row"] == 1].iloc[0]
    assert (note["column"], note["action"]) == ("Deal - Currency", "one currency: read as written")
    assert note["reason"] == "read as the currency of each amount in 'Deal - Value': EUR on 1 row"


def test_a_blank_currency_column_is_not_said_to_be_one_currency(tmp_path: Path) -> None:
    history = load(
        tmp_path,
        "Deal - ID;Deal - Owner;Deal - Status;Deal - Deal created;Deal - Value;Deal - Currency\n"
        "1;Zoë;won;2026-01-05 09:00;12.500,00;\n",
        tz="Europe/Berlin",
    )
    note = history.flagged[history.flagged["row"] == 1].iloc[0]
    assert note["reason"] == "read as the currency of each amount in 'Deal - Value': none given"
    assert note["action"] == "no currency: read as written"


def test_the_converted_amount_is_read_before_the_unconverted_one_and_said_so(
    tmp_path: Path,
) -> None:
    text = (
        "Opportunity ID,Opportunity Owner,Stage,Created Date,Close Date,Amount Currency,Amount,"
        "Amount (converted) Currency,Amount (converted)\n"
        '006C1,Amy,Closed Won,1/5/2026,1/20/2026,USD,"12,500.00",USD,"12,500.00"\n'
        '006C2,Ben,Closed Won,1/7/2026,1/22/2026,EUR,"10,000.00",USD,"11,000.00"\n'
    )
    history = load(tmp_path, text, tz="UTC")
    assert history.rejected.empty
    assert history.columns["amount"] == "Amount (converted)"
    frame = history.to_frame()
    assert frame["amount"].tolist() == [12500.0, 11000.0]
    assert frame["Amount"].tolist() == ["12,500.00", "10,000.00"]
    assert history.flagged.to_dict("records") == [
        {
            "row": 1,
            "column": "Amount (converted)",
            "reason": "both 'Amount' and 'Amount (converted)' are in the file",
            "action": "amount read from 'Amount (converted)', converted to one currency; "
            "'Amount' kept as a lead feature; 'Amount Currency' is the currency of 'Amount', "
            "not applied",
        }
    ]
    # a map naming the unconverted column wins, and its rows are checked against their currency
    chosen = load(tmp_path, text, tz="UTC", columns={"Amount": "amount"})
    assert chosen.to_frame()["amount"].tolist() == [12500.0]
    assert chosen.rejected["row"].tolist() == [3]


def test_excels_delimiter_hint_is_read_as_excel_reads_it(tmp_path: Path) -> None:
    # "sep=;" tells Excel the delimiter; Excel hides the line and shows the header as row 1
    history = load(
        tmp_path,
        "\ufeffsep=;\r\n"
        "Deal - ID;Deal - Owner;Deal - Status;Deal - Deal created;Deal - Value\r\n"
        "1;Jürgen Müller, Berlin;won;03.01.2026 09:00;12.500,00 €\r\n"
        "2;Zoë Lefèvre;lost;;900,00 €\r\n",
        tz="UTC",
    )
    frame = history.to_frame()
    assert frame["rep_id"].tolist() == ["Jürgen Müller, Berlin"]
    assert frame["amount"].tolist() == [12500.0]
    assert history.rejected[["row", "column"]].values.tolist() == [[3, "Deal - Deal created"]]


def test_a_deal_left_without_a_stage_is_flagged_with_how_it_was_read(tmp_path: Path) -> None:
    # an open opportunity's Amount and Close Date are expected ones: read as a sale, it is said
    history = load(
        tmp_path,
        "Opportunity ID,Opportunity Owner,Stage,Amount,Close Date,Created Date\n"
        "006A1,Amy,Closed Won,100,1/20/2026,1/13/2026\n"
        "006A2,Amy,,500,1/30/2026,1/13/2026\n"
        "006A3,Amy,,,,1/14/2026\n"
        "006A4,Amy,Prospecting,300,2/28/2026,1/14/2026\n",
        tz="UTC",
    )
    frame = history.to_frame().set_index("lead_id")
    assert frame["converted"].to_dict() == {
        "006A1": True,
        "006A2": True,
        "006A3": False,
        "006A4": False,
    }
    assert history.flagged.to_dict("records") == [
        {
            "row": 3,
            "column": "Stage",
            "reason": "no stage, while the column gives other rows one: read as an export "
            "without stages reads it, sold by its 'Close Date' and 'Amount'",
            "action": "read as won: fill in its stage (an open deal's amount and close date are "
            "expected ones, not a sale)",
        },
        {
            "row": 4,
            "column": "Stage",
            "reason": "no stage, while the column gives other rows one: read as an export "
            "without stages reads it, not sold",
            "action": "read as lost (not open): fill in its stage",
        },
    ]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    deals=st.lists(
        st.tuples(st.sampled_from(["Closed Won", "Closed Lost", "Prospecting", ""]), st.booleans()),
        min_size=1,
        max_size=8,
    )
)
def test_each_blank_stage_beside_others_is_flagged_once(
    tmp_path: Path, deals: list[tuple[str, bool]]
) -> None:
    """Whatever the stages and amounts, a row without a stage is flagged, once, exactly when
    another row has one; a column with no stage at all is an export without stages."""
    rows = [
        f"006A{i},Amy,{stage},{'500' if valued else ''},1/30/2026,1/13/2026"
        for i, (stage, valued) in enumerate(deals)
    ]
    history = load(
        tmp_path,
        "Opportunity ID,Opportunity Owner,Stage,Amount,Close Date,Created Date\n"
        + "\n".join(rows)
        + "\n",
        tz="UTC",
    )
    staged = any(stage for stage, _ in deals)
    blank = [i + 2 for i, (stage, _) in enumerate(deals) if not stage]
    flagged = history.flagged[history.flagged["column"] == "Stage"]
    assert flagged["row"].tolist() == (blank if staged else [])
