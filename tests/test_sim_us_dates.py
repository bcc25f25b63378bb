"""load_export on dates as US CRMs, Excel and web CRMs write them: months by name month first or
day first, a weekday in front (checked, and deciding dd/mm order), a.m. / p.m., noon and GMT
offsets, read as the instant they name or refused with the file, row and column; and yes / no
read with one vocabulary by the export reader and the roster."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadrouter._written import NO, YES
from leadrouter.errors import ConfigError, InvalidExportError
from leadrouter.playbooks import read_playbook
from leadrouter.sim import History, load_export
from leadrouter.sim.locales import MONTHS, WEEKDAYS
from leadrouter.sim.words import WORDS


def load(folder: Path, text: str, **options: object) -> History:
    path = folder / "export.csv"
    path.write_text(text, encoding="utf-8")
    return load_export(path, **options)  # type: ignore[arg-type]


def arrivals(history: History) -> list[datetime]:
    """The arrival times in the file's row order (`to_frame` sorts by time)."""
    frame = history.to_frame()
    order = frame["lead_id"].astype(int).argsort()
    return [stamp.to_pydatetime() for stamp in frame["arrived_at"].iloc[order]]


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("Jan 3, 2026 9:15 AM", at(2026, 1, 3, 9, 15)),
        ("January 3, 2026", at(2026, 1, 3)),
        ("Jan 03, 2026 09:15 AM", at(2026, 1, 3, 9, 15)),  # Zoho
        ("Mon, Jan 5, 2026 9:15 AM", at(2026, 1, 5, 9, 15)),  # Outlook, Gmail
        ("Monday, January 5, 2026 9:15 PM", at(2026, 1, 5, 21, 15)),  # Excel's long date
        ("Jan 5, 2026 at 9:15 PM", at(2026, 1, 5, 21, 15)),
        ("January 3rd, 2026", at(2026, 1, 3)),
        ("3-Jan-2026 09:15", at(2026, 1, 3, 9, 15)),
        ("03-Jan-26", at(2026, 1, 3)),  # Excel's d-mmm-yy
        ("5 Jan 2026 9:15am", at(2026, 1, 5, 9, 15)),
        ("Jan 5, 2026 9:15 a.m.", at(2026, 1, 5, 9, 15)),
        ("Jan 5, 2026 9:15 P.M.", at(2026, 1, 5, 21, 15)),
        ("Jan 5, 2026 9 pm", at(2026, 1, 5, 21)),
        ("Jan 5, 2026 12:00 AM", at(2026, 1, 5, 0)),
        ("Jan 5, 2026 12:00 PM", at(2026, 1, 5, 12)),
        ("Jan 5, 2026 noon", at(2026, 1, 5, 12)),
        ("Jan 5, 2026 12 noon", at(2026, 1, 5, 12)),
        ("2026-01-05 9:15 p.m.", at(2026, 1, 5, 21, 15)),
        ("Mon 1/5/2026 9:15 AM", at(2026, 1, 5, 9, 15)),  # month first: 5 January is a Monday
        ("Mar 3, 2026", at(2026, 3, 3)),  # Mar is a month here, not the French Tuesday
        ("mar. 3 mars 2026", at(2026, 3, 3)),  # and here the Tuesday
        ("lundi 5 janvier 2026 à 09:15", at(2026, 1, 5, 9, 15)),
        ("Mo., 5. Januar 2026 um 14:30", at(2026, 1, 5, 14, 30)),
        ("lunes, 5 de enero de 2026", at(2026, 1, 5)),
    ],
)
def test_a_date_as_us_crms_and_excel_write_it_reads_as_the_instant_it_names(
    tmp_path: Path, cell: str, expected: datetime
) -> None:
    history = load(tmp_path, f'lead id,created\n1,"{cell}"\n', tz="UTC")
    assert history.rejected.empty
    assert arrivals(history) == [expected]


def test_a_zoho_export_with_named_months_is_read_in_its_zone(tmp_path: Path) -> None:
    history = load(
        tmp_path,
        "Record Id,Lead Owner,Last Name,Lead Source,Lead Status,Created Time\n"
        '1,Ben Ortiz,Last0,Advertisement,Contacted,"Jan 03, 2026 09:15 AM"\n'
        '2,Ada Park,Last1,Online Store,Contacted,"Jul 14, 2026 11:40 PM"\n',
        tz="America/New_York",
    )
    assert history.profile == "Zoho CRM leads"
    assert history.rejected.empty and history.flagged.empty
    assert arrivals(history) == [at(2026, 1, 3, 14, 15), at(2026, 7, 15, 3, 40)]


def test_a_comma_between_date_and_time_as_icu_writes_it_is_read(tmp_path: Path) -> None:
    # Salesforce's ICU locale formats (en_US, en_GB, de_DE) put a comma there
    history = load(
        tmp_path,
        "Lead ID,Lead Owner,Lead Status,Create Date\n"
        '1,Amy,Working - Contacted,"1/5/2026, 9:15 AM"\n'
        '2,Amy,Working - Contacted,"1/13/2026, 11:40 PM"\n'
        '3,Amy,Working - Contacted,"1/14/2026, 9:15\u202fAM"\n'
        '4,Amy,Working - Contacted,"2026-01-15, 09:15"\n',
        tz="America/New_York",
    )
    assert history.rejected.empty and history.flagged.empty
    assert arrivals(history) == [
        at(2026, 1, 5, 14, 15),
        at(2026, 1, 14, 4, 40),
        at(2026, 1, 14, 14, 15),
        at(2026, 1, 15, 14, 15),
    ]
    day_first = load(
        tmp_path, 'id,created\n1,"05.01.2026, 09:15"\n2,"13/01/2026, 17:30"\n', tz="UTC"
    )
    assert day_first.rejected.empty
    assert arrivals(day_first) == [at(2026, 1, 5, 9, 15), at(2026, 1, 13, 17, 30)]


def test_a_web_crms_javascript_date_is_read_with_its_offset_and_needs_no_zone(
    tmp_path: Path,
) -> None:
    history = load(
        tmp_path,
        "id,created_at\n"
        "1,Mon Jan 05 2026 09:15:00 GMT-0500 (Eastern Standard Time)\n"
        '2,"Mon, 05 Jan 2026 09:15:00 GMT"\n'
        "3,Mon Jan 05 2026 15:15:00 GMT+1\n",
    )
    assert history.rejected.empty
    assert arrivals(history) == [
        at(2026, 1, 5, 14, 15),
        at(2026, 1, 5, 9, 15),
        at(2026, 1, 5, 14, 15),
    ]


ENGLISH = tuple(names.split()[0] for names in MONTHS["English"])
WEEKDAY = tuple(names.split()[0] for names in WEEKDAYS["English"])


def written(moment: datetime, language: str) -> list[str]:
    """`moment` in every form read, its names in `language` (the day-first forms of every
    language, the month-first ones in English)."""
    month = MONTHS[language][moment.month - 1].split()
    day = WEEKDAYS[language][moment.weekday()].split()
    full, short = month[0], month[-1]
    hour12 = moment.hour % 12 or 12
    half = "AM" if moment.hour < 12 else "PM"
    clock = f"{moment.hour:02d}:{moment.minute:02d}"
    forms = [
        f"{moment.day} {full} {moment.year} {clock}",
        f"{moment.day:02d}-{short}-{moment.year} {clock}",
        f"{day[0]}, {moment.day} {full} {moment.year} {clock}",
        f"{day[-1]}. {moment.day}. {short}. {moment.year} {clock}",
        f"{moment:%Y-%m-%d %H:%M}",
    ]
    if language == "English":
        name, weekday = ENGLISH[moment.month - 1], WEEKDAY[moment.weekday()]
        forms += [
            f"{name[:3]} {moment.day}, {moment.year} {hour12}:{moment.minute:02d} {half}",
            f"{name[:3]} {moment.day:02d}, {moment.year} {hour12:02d}:{moment.minute:02d} {half}",
            f"{weekday}, {name} {moment.day}, {moment.year} {hour12}:{moment.minute:02d} {half}",
            f"{weekday[:3]} {name[:3]} {moment.day:02d} {moment.year} {clock}:00 GMT+0000 (UTC)",
            f"{weekday[:3]} {moment.month}/{moment.day}/{moment.year} {hour12}:{moment.minute:02d}"
            f" {half[0].lower()}.{half[1].lower()}.",
        ]
        if moment.year < 2030:  # two digits: 00-29 this century, as Excel reads them
            forms.append(f"{moment.day}-{name[:3]}-{moment.year % 100:02d} {clock}")
    return forms


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
        lambda moment: moment.replace(second=0, microsecond=0)
    ),
    st.sampled_from(sorted(MONTHS)),
)
def test_a_date_written_in_any_form_read_reads_back_as_the_same_instant(
    moment: datetime, language: str
) -> None:
    """Invariant: every form of one instant, each a row of one file, reads back as that
    instant, with nothing rejected."""
    forms = written(moment, language)
    with tempfile.TemporaryDirectory() as folder:
        rows = "".join(f'{n},"{form}"\n' for n, form in enumerate(forms))
        history = load(Path(folder), "id,created\n" + rows, tz="UTC")
    assert history.rejected.empty, history.rejected.to_dict("records")
    assert set(arrivals(history)) == {moment.replace(tzinfo=UTC)}


def test_a_weekday_that_is_not_the_dates_is_an_error_naming_file_row_and_column(
    tmp_path: Path,
) -> None:
    with pytest.raises(InvalidExportError) as info:
        load(
            tmp_path,
            'id,created\n1,"Mon, Jan 5, 2026 9:15 AM"\n2,"Tue, Jan 6, 2026"\n'
            '3,"Tue, Jan 5, 2026 9:15 AM"\n',
            tz="UTC",
        )
    assert str(info.value) == (
        f"{tmp_path / 'export.csv'}: column 'created', row 4: 'Tue, Jan 5, 2026 9:15 AM' says "
        "Tuesday, but 2026-01-05 is a Monday: the date or its weekday is wrong; correct the cell "
        "and export again"
    )


def test_a_weekday_contradicting_the_chosen_dd_mm_order_names_the_other(tmp_path: Path) -> None:
    with pytest.raises(InvalidExportError) as info:
        load(tmp_path, "id,created\n1,Mon 01/05/2026 09:15\n", tz="UTC", dayfirst=True)
    assert "row 2: 'Mon 01/05/2026 09:15' says Monday, but 2026-05-01 is a Friday (read day " in (
        str(info.value)
    )
    assert str(info.value).endswith(
        "first): read month first (mm/dd/yyyy) it is a Monday; give dayfirst=False"
    )
    with pytest.raises(ConfigError, match="says Tuesday, but 2026-01-05 is a Monday"):
        load(tmp_path, "id,created\n1,2026-01-05 09:00\n", tz="UTC", as_of="Tue Jan 5, 2026")


def test_a_weekday_settles_the_files_dd_mm_order(tmp_path: Path) -> None:
    """`Fri 01/05/2026` is 1 May (5 January is a Monday): the file is day first, 02/03/2026 is
    2 March, and the note says why; `Mon 01/05/2026` beside 13/01/2026 cannot be read one way."""
    history = load(tmp_path, "id,created\n1,Fri 01/05/2026 09:15\n2,02/03/2026 10:00\n", tz="UTC")
    assert arrivals(history) == [at(2026, 5, 1, 9, 15), at(2026, 3, 2, 10)]
    assert history.flagged["reason"].tolist() == [
        "dates read day first (dd/mm/yyyy): 'Fri 01/05/2026 09:15' is the weekday it names only "
        "read day first, and no date of the file can only be month first"
    ]
    month = load(tmp_path, "id,created\n1,Mon 01/05/2026 09:15\n2,02/03/2026 10:00\n", tz="UTC")
    assert arrivals(month) == [at(2026, 1, 5, 9, 15), at(2026, 2, 3, 10)]
    assert month.flagged.empty
    with pytest.raises(InvalidExportError) as info:
        load(tmp_path, "id,created\n1,13/01/2026 09:00\n2,Mon 01/05/2026 09:15\n", tz="UTC")
    assert (
        "'Mon 01/05/2026 09:15' in column 'created' row 3 is the weekday it names only month "
        "first (mm/dd/yyyy)" in str(info.value)
    )


def test_a_column_mixing_forms_is_read_row_by_row(tmp_path: Path) -> None:
    """Named months and ISO dates read as written whatever the file's dd/mm order, which 13/01
    settles for the numeric dates alone; no note, since the order is settled."""
    history = load(
        tmp_path,
        'id,created\n1,"Jan 5, 2026 9:15 AM"\n2,2026-01-06 10:00\n3,05-Feb-26\n'
        "4,13/01/2026 08:00\n5,02/03/2026 08:00\n",
        tz="UTC",
    )
    assert arrivals(history) == [
        at(2026, 1, 5, 9, 15),
        at(2026, 1, 6, 10),
        at(2026, 2, 5),
        at(2026, 1, 13, 8),
        at(2026, 3, 2, 8),
    ]
    assert history.flagged["reason"].str.startswith("dates read day first").tolist() == [True]


@pytest.mark.parametrize("cell", ["9:15 AM Jan 5, 2026", "Jan 5, 2026 midnight", "Jan 2026"])
def test_a_named_date_not_read_is_rejected_listing_the_forms_read(
    tmp_path: Path, cell: str
) -> None:
    history = load(tmp_path, f'id,created\n1,2026-01-05 09:00\n2,"{cell}"\n', tz="UTC")
    assert history.rejected[["row", "column"]].values.tolist() == [[3, "created"]]
    reason = history.rejected["reason"].iat[0]
    assert reason.startswith(f"{cell!r} is not a time leadrouter can read: write ISO 8601")
    assert "Jan 3, 2026 9:15 AM, Monday, January 5, 2026" in reason


def test_as_of_with_a_time_in_words_is_that_time_not_the_end_of_the_day(tmp_path: Path) -> None:
    text = "id,created\n1,2026-01-05 09:00\n"
    noon = load(tmp_path, text, tz="UTC", as_of="Jan 31, 2026 noon")
    assert noon.as_of == at(2026, 1, 31, 12)
    day = load(tmp_path, text, tz="UTC", as_of="Saturday, January 31, 2026")
    assert day.as_of == at(2026, 2, 1) - timedelta(microseconds=1)


# --------------------------------------------------------------------------- yes / no


def roster_actives(tmp_path: Path, words: list[str]) -> list[bool]:
    rows = "".join(f"rep{n},{word}\n" for n, word in enumerate(words))
    (tmp_path / "reps.csv").write_text("id,active\n" + rows, encoding="utf-8")
    playbook = tmp_path / "team.toml"
    playbook.write_text('roster = "reps.csv"\n\n[strategy]\nname = "EqualRotation"\n')
    return [rep.active for rep in read_playbook(playbook)["reps"]]


def test_a_roster_reads_yes_and_no_in_french_german_and_spanish(tmp_path: Path) -> None:
    words = ["Oui", "non", "Ja", "NEIN", "Sí", "No", "VRAI", "FAUX", "✓", "✗"]
    assert roster_actives(tmp_path, words) == [True, False] * 5


def test_the_roster_and_the_export_read_every_yes_no_word_alike(tmp_path: Path) -> None:
    """One vocabulary: each yes / no word means the same in a roster's cell as in an export's
    converted column, written in capitals as an Excel export writes TRUE / FALSE."""
    words = [word.upper() for word in (*YES, *NO)]
    expected = [WORDS[word] for word in (*YES, *NO)]
    assert roster_actives(tmp_path, words) == expected
    rows = "".join(f"{n},2026-01-05 09:00,{word}\n" for n, word in enumerate(words))
    history = load(tmp_path, "id,created,converted\n" + rows, tz="UTC")
    assert history.rejected.empty
    assert history.to_frame()["converted"].tolist() == expected
    assert pd.Series(expected).isin([True, False]).all()


@pytest.mark.parametrize(
    ("cell", "year"),
    [("3/4/99 9:15", 1999), ("3/4/30", 1930), ("3/4/29", 2029), ("3/4/26", 2026)],
)
def test_a_two_digit_year_is_read_as_excel_reads_it(tmp_path: Path, cell: str, year: int) -> None:
    """00-29 this century, 30-99 the last: `99` is 1999, never a lead dated 2099 that would
    stretch the history over 74 years; and the same by month name (`03-Jan-99`)."""
    path = tmp_path / "export.csv"
    rows = f'1,"{cell}",ann,no\n2,"03-Jan-{cell.split("/")[2][:2]}",ann,no\n'
    path.write_text("lead_id,created_at,owner,converted\n" + rows, encoding="utf-8")
    history = load_export(path, tz="UTC")
    assert [moment.year for moment in arrivals(history)] == [year, year]
