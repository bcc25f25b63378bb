"""load_export on CRM exports in French, German and Spanish: their headers and stage values are
read as the English ones, accents or none, and a word that could mean two things is left for
the team to map."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from leadrouter.errors import MissingColumnError
from leadrouter.sim import History, load_export


def load(tmp_path: Path, text: str, **options: Any) -> History:
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    return load_export(path, tz="Europe/Paris", **options)


def outcomes(history: History) -> dict[str, tuple[str, str]]:
    table = history.outcomes
    return {r.value: (r.outcome, r.why) for r in table.itertuples(index=False)}


def test_a_german_salesforce_leads_report_is_read_as_the_english_one(tmp_path: Path) -> None:
    history = load(
        tmp_path,
        "Lead-ID;Lead-Inhaber;Lead-Status;Erstellungsdatum;Schlusstermin;Betrag;Lead-Quelle\n"
        "1;Jürgen Müller;Gewonnen;03.01.2026 09:00;20.01.2026;12.500,00 €;Web\n"
        "2;Jürgen Müller;Abgeschlossen und gewonnen;04.01.2026 09:00;21.01.2026;800,00 €;Web\n"
        "3;Zoë Lefèvre;Verloren;05.01.2026 10:00;22.01.2026;;Messe\n"
        "4;Zoë Lefèvre;Offen;07.01.2026 11:00;;;Messe\n",
    )
    assert history.rejected.empty
    assert history.columns == {
        "lead_id": "Lead-ID",
        "arrived_at": "Erstellungsdatum",
        "source": "Lead-Quelle",
        "rep_id": "Lead-Inhaber",
        "converted_at": "Schlusstermin",
        "amount": "Betrag",
        "stage": "Lead-Status",
        "lost_at": "Schlusstermin",
    }
    assert history.to_frame()["stage"].tolist() == ["won", "won", "lost", "open"]
    assert outcomes(history)["Offen"] == ("open", "recognised: open")
    assert history.to_frame()["amount"].dropna().tolist() == [12500.0, 800.0]


def test_french_and_spanish_headers_are_read_with_or_without_their_accents(
    tmp_path: Path,
) -> None:
    french = load(
        tmp_path,
        "ID du lead,Propriétaire du lead,Statut du lead,DATE DE CREATION,Montant\n"
        "A1,Amélie,Gagné,2026-01-05 09:00,1200\n"
        "A2,Amélie,Fermée gagnée,2026-01-05 10:00,300\n"
        "A3,Amélie,Perdu,2026-01-06 09:00,\n"
        "A4,Amélie,Ouvert,2026-01-06 10:00,\n",
    )
    assert [french.columns[f] for f in ("lead_id", "rep_id", "stage", "arrived_at", "amount")] == [
        "ID du lead",
        "Propriétaire du lead",
        "Statut du lead",
        "DATE DE CREATION",
        "Montant",
    ]
    assert french.to_frame()["stage"].tolist() == ["won", "won", "lost", "open"]
    spanish = load(
        tmp_path,
        "ID del candidato,Propietario del candidato,Estado del candidato,Fecha de creación,"
        "Importe\n"
        "B1,José García,Ganado,2026-01-05 09:00,1200\n"
        "B2,José García,Cerrada ganada,2026-01-05 10:00,300\n"
        "B3,José García,Perdido,2026-01-06 09:00,\n"
        "B4,José García,Abierto,2026-01-06 10:00,\n",
    )
    assert spanish.columns["rep_id"] == "Propietario del candidato"
    assert spanish.columns["stage"] == "Estado del candidato"
    assert spanish.to_frame()["stage"].tolist() == ["won", "won", "lost", "open"]
    assert spanish.to_frame()["amount"].dropna().tolist() == [1200.0, 300.0]


def test_ambiguous_words_are_left_unread_and_the_map_is_named(tmp_path: Path) -> None:
    history = load(
        tmp_path,
        "ID,Fecha de creación,Propietario,Estado,Etapa\n"
        "1,2026-01-05 09:00,Ana Ruiz,Jalisco,Abgeschlossen\n"
        "2,2026-01-05 10:00,Luis Paz,Nuevo León,Ganado\n",
    )
    assert "rep_id" not in history.columns  # the owner of what? a property, a business ...
    assert history.columns["stage"] == "Etapa"  # 'Estado' may be an address's state
    assert history.to_frame()["Estado"].tolist() == ["Jalisco", "Nuevo León"]
    assert outcomes(history)["Abgeschlossen"] == ("open", "not recognised, so open")
    with pytest.raises(MissingColumnError, match=r"no arrived_at column.*columns=\{'your header'"):
        load(tmp_path, "ID del candidato,Fecha,Importe\nB1,2026-01-05,100\n")


def test_a_localised_converted_amount_is_read_before_the_unconverted_one(tmp_path: Path) -> None:
    history = load(
        tmp_path,
        "Opportunity-ID;Opportunity-Inhaber;Phase;Erstellungsdatum;Währung;Betrag;"
        "Betrag (umgerechnet)\n"
        "1;Jürgen Müller;Gewonnen;03.01.2026;EUR;1.000,00;1.000,00\n"
        "2;Jürgen Müller;Gewonnen;04.01.2026;CHF;1.000,00;1.050,00\n",
    )
    assert history.rejected.empty
    assert history.columns["amount"] == "Betrag (umgerechnet)"
    assert history.to_frame()["amount"].tolist() == [1000.0, 1050.0]
    note = history.flagged[history.flagged["row"] == 1].iloc[0]
    assert note["reason"] == "both 'Betrag' and 'Betrag (umgerechnet)' are in the file"


@pytest.mark.parametrize(
    ("yes", "no"),
    [
        ("Oui", "Non"),
        ("Vrai", "FAUX"),
        ("Ja", "Nein"),
        ("WAHR", "Falsch"),
        ("Sí", "No"),
        ("Si", "no"),
        ("VERDADERO", "Falso"),
    ],
)
def test_yes_and_no_are_read_in_french_german_and_spanish(
    tmp_path: Path, yes: str, no: str
) -> None:
    history = load(
        tmp_path,
        "lead id,created at,reached,valid,converted\n"
        f"1,2026-01-05 09:00,{yes},{yes},{no}\n"
        f"2,2026-01-05 10:00,{no},{yes},{yes}\n",
    )
    assert history.rejected.empty
    frame = history.to_frame()
    assert frame["reached"].tolist() == [True, False]
    assert frame["valid"].tolist() == [True, True]
    assert frame["converted"].tolist() == [False, True]


def test_a_word_neither_yes_nor_no_is_rejected_naming_the_words_read(tmp_path: Path) -> None:
    history = load(
        tmp_path, "lead id,created at,reached\n1,2026-01-05 09:00,Peut-être\n2,2026-01-05,Oui\n"
    )
    reason = history.rejected.iloc[0]["reason"]
    assert "'Peut-être' is not yes or no" in reason
    assert "oui/non, ja/nein or sí/no" in reason


def test_dates_with_french_german_and_spanish_month_names_are_read(tmp_path: Path) -> None:
    history = load(
        tmp_path,
        "lead id;created at;close date\n"
        "1;3 janvier 2026;1er févr. 2026 à 09:15\n"
        "2;3. Januar 2026 um 14:30;3. März 2026\n"
        "3;3 de enero de 2026;15-dic-2026\n"
        "4;03-Jan-2026;3 de Setiembre de 2026 9:15\n"
        "5;3 JANVIER 2026;3. Mrz. 2026\n",
    )
    assert history.rejected.empty
    frame = history.to_frame().set_index("lead_id").sort_index()
    local = {
        field: frame[field].dt.tz_convert("Europe/Paris").dt.strftime("%m-%d %H:%M").tolist()
        for field in ("arrived_at", "converted_at")
    }
    assert local["arrived_at"] == ["01-03 00:00", "01-03 14:30", *["01-03 00:00"] * 3]
    assert local["converted_at"] == [
        "02-01 09:15",
        "03-03 00:00",
        "12-15 00:00",
        "09-03 09:15",
        "03-03 00:00",
    ]


def test_a_date_with_a_month_name_not_read_says_which_forms_are(tmp_path: Path) -> None:
    history = load(
        tmp_path,
        "lead id,created at\n1,Januar 2026\n2,31 février 2026\n3,tomorrow\n4,2026-01-05\n",
    )
    reasons = history.rejected["reason"].tolist()
    assert "Monday, January 5, 2026" in reasons[0]
    assert "3. Januar 2026" in reasons[0]
    assert reasons[1] == "'31 février 2026' is not a valid date and time: February 2026 has 28 days"
    assert reasons[2] == (
        "'tomorrow' is not a time leadrouter can read: write ISO 8601, e.g. 2025-03-03 09:15"
    )


@pytest.mark.parametrize(
    ("header", "qualified"),
    [
        ("Propriétaire du lead,Statut du lead,Date de création", "Qualifié"),
        ("Propriétaire de la piste,Statut de la piste,Date de creation", "Qualifiée"),
        ("Lead-Inhaber,Lead-Status,Erstellungsdatum", "Qualifiziert"),
        ("Propietario del candidato,Estado del candidato,Fecha de creación", "Calificado"),
    ],
)
def test_a_localised_salesforce_leads_report_reads_its_qualified_status_as_won(
    tmp_path: Path, header: str, qualified: str
) -> None:
    history = load(
        tmp_path,
        f"ID,{header}\n"
        f"1,Zoë Lefèvre,{qualified},2026-01-05 09:00\n"
        "2,Zoë Lefèvre,Non qualifié,2026-01-05 10:00\n"
        "3,Zoë Lefèvre,Nouveau,2026-01-06 09:00\n",
    )
    assert history.profile == "Salesforce Leads"
    assert history.to_frame()["stage"].tolist() == ["won", "lost", "open"]
    assert outcomes(history)[qualified] == ("won", "Salesforce Leads: won")


def test_a_french_hubspot_contacts_export_is_no_salesforce_leads_report(tmp_path: Path) -> None:
    history = load(
        tmp_path,
        "ID de fiche d'informations,Propriétaire du contact,Statut du lead,Date de création\n"
        "1,Amélie,Qualifié,2026-01-05 09:00\n"
        "2,Amélie,Gagné,2026-01-05 10:00\n",
    )
    assert history.profile == "generic"
    assert outcomes(history)["Qualifié"] == ("open", "not recognised, so open")
