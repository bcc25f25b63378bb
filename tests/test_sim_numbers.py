"""load_export's numbers: decimal commas read as such, thousands separators taken out, values
no cost or amount can be rejected with their row, and a column mixing conventions said."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadrouter.sim import History, load_export

HEADER = "Lead ID;Created At;Owner;Cost;Amount;Score"


def load(tmp_path: Path, rows: list[str], header: str = HEADER, sep: str = ";") -> History:
    path = tmp_path / "export.csv"
    lines = [header.replace(";", sep), *rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_export(path, tz="UTC")


def reasons(frame: pd.DataFrame) -> dict[tuple[int, str], str]:
    return {(int(r.row), str(r.column)): str(r.reason) for r in frame.itertuples()}


def test_a_decimal_comma_export_reads_its_numbers_and_flags_the_reading(tmp_path: Path) -> None:
    history = load(
        tmp_path,
        [
            "A1;2025-03-03 09:00;wang;1.200,50;3,5;0,85",
            "A2;2025-03-03 10:00;li;95,5;;0,2",
            "A3;2025-03-03 11:00;li;80;12;1",
        ],
    )
    frame = history.to_frame().set_index("lead_id")
    assert frame["cost"].to_dict() == {"A1": 1200.5, "A2": 95.5, "A3": 80.0}
    assert frame.loc["A1", "amount"] == 3.5 and frame.loc["A3", "amount"] == 12.0
    assert frame["score"].to_dict() == {"A1": 0.85, "A2": 0.2, "A3": 1.0}
    assert history.rejected.empty
    flagged = history.flagged
    # every cell whose value rests on the comma being decimal is flagged, naming why
    assert sorted(zip(flagged["row"], flagged["column"], strict=True)) == [
        (2, "Amount"),
        (2, "Cost"),
        (2, "Score"),
        (3, "Cost"),
        (3, "Score"),
    ]
    cost = flagged[(flagged["column"] == "Cost") & (flagged["row"] == 2)].iloc[0]
    assert "decimal comma ('1.200,50' in row 2 cannot be read otherwise)" in cost["reason"]
    assert cost["action"] == "read as 1200.50: dots between thousands, comma as decimal point"


def test_thousands_commas_stay_thousands(tmp_path: Path) -> None:
    history = load(
        tmp_path,
        ['A1,2025-03-03 09:00,wang,"1,200",12,0.5', 'A2,2025-03-03 10:00,li,"1,200.50",9.5,0.2'],
        sep=",",
    )
    assert history.to_frame()["cost"].tolist() == [1200.0, 1200.5]
    assert history.flagged.empty and history.rejected.empty


def test_a_column_mixing_decimal_comma_and_point_rejects_the_rarer_once(tmp_path: Path) -> None:
    history = load(
        tmp_path,
        [
            "A1;2025-03-03 09:00;wang;95.5;1;0.5",
            "A2;2025-03-03 10:00;li;1,5;1;0.5",
            "A3;2025-03-03 11:00;li;12.25;1;0.5",
        ],
    )
    assert history.to_frame()["lead_id"].tolist() == ["A1", "A3"]
    found = reasons(history.rejected)
    assert list(found) == [(3, "Cost")]  # one reason for the cell, not a second "not a number"
    assert found[(3, "Cost")] == (
        "'1,5' has a decimal comma, while the column's other numbers have a decimal point "
        "(e.g. '95.5' in row 2): export the column with one decimal separator"
    )


def test_numbers_no_cost_or_amount_can_be_are_rejected_by_row(tmp_path: Path) -> None:
    history = load(
        tmp_path,
        [
            "A1;2025-03-03 09:00;wang;10;13800138000138000;0.5",
            "A2;2025-03-03 10:00;li;1e400;5;0.5",
            "A3;2025-03-03 11:00;li;-3;5;0.5",
            "A4;2025-03-03 12:00;li;10;999999999999;0.5",
        ],
    )
    assert history.to_frame()["lead_id"].tolist() == ["A4"]
    assert reasons(history.rejected) == {
        (2, "Amount"): "'13800138000138000' is too large for an amount (over "
        "1,000,000,000,000): is it an id or phone number in the wrong column?",
        (3, "Cost"): "'1e400' is too large a number",
        (4, "Cost"): "'-3' is negative: a cost is 0 or more",
    }


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cents=st.lists(st.integers(min_value=0, max_value=10**11), min_size=1, max_size=6),
    european=st.booleans(),
)
def test_any_amount_written_either_way_reads_back_exactly(
    tmp_path: Path, cents: list[int], european: bool
) -> None:
    def written(value: int) -> str:
        text = f"{value // 100:,}.{value % 100:02d}"
        if european:
            text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
        return text

    rows = [f'A{i};2025-03-03 09:00;wang;"{written(value)}";1;0.5' for i, value in enumerate(cents)]
    history = load(tmp_path, rows)
    assert history.rejected.empty
    assert history.to_frame()["cost"].tolist() == [value / 100 for value in cents]


def test_a_lone_zero_before_three_digits_is_a_decimal_comma(tmp_path: Path) -> None:
    # 0,850 cannot be 850 with a thousands comma: no one writes a thousand so
    history = load(
        tmp_path,
        ["A1;2025-03-03 09:00;wang;0,850;1;0.5", "A2;2025-03-03 10:00;li;0,125;1;0.5"],
    )
    assert history.to_frame()["cost"].tolist() == [0.85, 0.125]
    flagged = history.flagged
    assert flagged["column"].tolist() == ["Cost", "Cost"]
    assert "('0,850' in row 2 cannot be read otherwise)" in flagged["reason"].iat[0]
    assert flagged["action"].tolist() == [
        "read as 0.850: comma as decimal point",
        "read as 0.125: comma as decimal point",
    ]


def test_two_dots_can_only_separate_thousands(tmp_path: Path) -> None:
    history = load(
        tmp_path,
        [
            "A1;2025-03-03 09:00;wang;1;12.000 €;0.5",
            "A2;2025-03-03 10:00;li;1;1.250.000 €;0.5",
            "A3;2025-03-03 11:00;li;1;500 €;0.5",
        ],
    )
    assert history.to_frame()["amount"].tolist() == [12000.0, 1250000.0, 500.0]
    assert history.rejected.empty
    flagged = history.flagged
    assert flagged["row"].tolist() == [2, 3]
    assert "('1.250.000' in row 3 cannot be read otherwise)" in flagged["reason"].iat[0]


def test_a_number_either_convention_reads_is_flagged_when_nothing_settles_it(
    tmp_path: Path,
) -> None:
    # whole euros as a German spreadsheet writes them: 12.000 is twelve thousand there
    history = load(
        tmp_path,
        ["A1;2025-03-03 09:00;wang;1;12.000 €;0.5", "A2;2025-03-03 10:00;li;1;500 €;0.5"],
    )
    assert history.to_frame()["amount"].tolist() == [12.0, 500.0]
    assert history.flagged.to_dict("records") == [
        {
            "row": 2,
            "column": "Amount",
            "reason": "'12.000' is 12 with a decimal point, or 12,000 with a dot between "
            "thousands, and no number of the column settles which (such as 95.5, 1,200.50, "
            "3,5 or 1.250.000)",
            "action": "read as 12: dot as decimal point; if the dots separate thousands, export "
            "the column with its decimals (12.000,00) or without thousands separators",
        }
    ]


def test_a_column_settled_by_its_numbers_flags_no_number(tmp_path: Path) -> None:
    history = load(
        tmp_path,
        [
            'A1,2025-03-03 09:00,wang,1.500,"1,250,000",0.5',
            "A2,2025-03-03 10:00,li,0.25,1.200,0.5",
        ],
        sep=",",
    )
    frame = history.to_frame()
    assert frame["cost"].tolist() == [1.5, 0.25]  # 0.25 settles the column
    assert frame["amount"].tolist() == [1250000.0, 1.2]  # so does 1,250,000
    assert history.flagged.empty and history.rejected.empty


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    whole=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=6),
    european=st.booleans(),
)
def test_a_whole_amount_is_read_exactly_or_flagged(
    tmp_path: Path, whole: list[int], european: bool
) -> None:
    """Whole amounts with thousands separators, in either convention: each is read at its value
    or its row is flagged naming the value it would be (never read otherwise in silence)."""

    def written(value: int) -> str:
        return f"{value:,}".replace(",", ".") if european else f"{value:,}"

    rows = [f'A{i};2025-03-03 09:00;wang;1;"{written(value)}";0.5' for i, value in enumerate(whole)]
    history = load(tmp_path, rows)
    assert history.rejected.empty
    flags = {int(r.row): str(r.reason) for r in history.flagged.itertuples()}
    for row, (value, read) in enumerate(
        zip(whole, history.to_frame()["amount"], strict=True), start=2
    ):
        assert read == value or f"or {value:,} with a dot between thousands" in flags[row]


def test_a_mixed_column_names_how_its_other_numbers_are_written(tmp_path: Path) -> None:
    history = load(
        tmp_path,
        [
            'A1,2025-03-03 09:00,wang,"1,250,000",1,0.5',
            'A2,2025-03-03 10:00,li,"2,500,000",1,0.5',
            'A3,2025-03-03 11:00,li,"3,5",1,0.5',
        ],
        sep=",",
    )
    assert history.to_frame()["cost"].tolist() == [1250000.0, 2500000.0]
    assert reasons(history.rejected) == {
        (4, "Cost"): "'3,5' has a decimal comma, while the column's other numbers have commas "
        "between thousands (e.g. '1,250,000' in row 2): export the column with one decimal "
        "separator"
    }
