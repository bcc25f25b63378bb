"""French, German and Spanish words of CRM exports: the headers, stage values, month and weekday
names recognised (with the English names), and the headers that identify a Salesforce leads
report in those languages.

Salesforce, HubSpot, Pipedrive and Zoho export in their user's language: a French Salesforce
leads report writes `Date de création`, `Propriétaire du lead`, `Statut du lead`, `Montant`; a
German one `Erstellungsdatum`, `Lead-Inhaber`, `Lead-Status`, `Betrag`; a Spanish one `Fecha de
creación`, `Propietario del candidato`, `Estado del candidato`, `Importe`, and stages such as
`Gewonnen`, `Fermée gagnée` or `Cerrada ganada`. They are written here as the CRMs write them;
`leadrouter.sim.headers` and `leadrouter.sim.profiles` compare them without case, spaces,
punctuation or accents (`unaccented`), so `DATE DE CREATION` typed without its accent is the
same header.

Only words that mean one thing are listed, since a header read as the wrong field, or a stage
as the wrong outcome, is worse than one not read (`MissingColumnError` then names the
`columns=` fix, and an unknown stage is shown as such in `History.outcomes`). Left out on
purpose: `Estado` alone (a status, but also a Mexican or Brazilian address's state), `Secteur`
alone (an industry or a sales territory), `Propriétaire`, `Inhaber`, `Besitzer`, `Propietario`
alone (the owner of a property or of the prospect's business as often as the lead's),
`Vendeur`, `Verkäufer`, `Vendedor` (the salesperson in Odoo, the selling prospect in a
property or car dealer's leads), and the stages `Abgeschlossen`, `Geschlossen`, `Fermé`,
`Cerrado` alone (closed: won or lost?).
"""

from __future__ import annotations

from collections.abc import Mapping

from leadrouter._written import ENGLISH_DAYS, unaccented

__all__ = [
    "HEADERS",
    "LOST",
    "MONTHS",
    "MONTH_NUMBERS",
    "OPEN",
    "QUALIFIED",
    "SALESFORCE_LEADS",
    "WEEKDAYS",
    "WEEKDAY_NUMBERS",
    "WON",
    "unaccented",
]

HEADERS: dict[str, tuple[str, ...]] = {
    "lead_id": (
        "ID du lead", "ID de la piste", "ID du prospect", "ID de l'opportunité",
        "ID de fiche d'informations", "Datensatz-ID", "ID del candidato", "ID del lead",
        "ID de registro", "ID de la oportunidad",
    ),
    "arrived_at": (
        "Date de création", "Heure de création", "Créé le", "Erstellungsdatum",
        "Erstellungszeit", "Erstellt am", "Fecha de creación", "Hora de creación", "Creado el",
    ),
    "source": (
        "Origine de la piste", "Origine du lead", "Source du lead", "Canal", "Lead-Quelle",
        "Quelle", "Kanal", "Origen del candidato", "Origen del lead",
    ),
    "contact": (
        "Téléphone", "Téléphone portable", "Telefon", "Mobiltelefon", "Teléfono", "Móvil",
        "Correo electrónico",
    ),
    "rep_id": (
        "Propriétaire du lead", "Propriétaire de la piste", "Propriétaire du prospect",
        "Propriétaire de l'opportunité", "Propriétaire de la transaction",
        "Propriétaire de l'affaire", "Propriétaire du contact",
        "Lead-Inhaber", "Opportunity-Inhaber", "Deal-Inhaber", "Kontaktinhaber",
        "Lead-Besitzer", "Deal-Besitzer",
        "Propietario del candidato", "Propietario del lead", "Propietario de la oportunidad",
        "Propietario del negocio", "Propietario del contacto",
    ),
    "converted_at": (
        "Date de clôture", "Date de fermeture", "Schlusstermin", "Abschlussdatum",
        "Fecha de cierre",
    ),
    "amount": (
        "Montant", "Montant de l'opportunité", "Montant de la transaction", "Betrag",
        "Opportunity-Betrag", "Importe", "Monto", "Importe de la oportunidad",
    ),
    "stage": (
        "Statut", "Statut du lead", "Statut de la piste", "Statut du prospect", "Étape",
        "Étape de l'opportunité", "Phase de la transaction", "Phase", "Deal-Phase",
        "Verkaufsphase", "Estado del candidato", "Estado del lead", "Etapa",
        "Etapa de la oportunidad", "Etapa del negocio", "Fase",
    ),
    "lost_reason": ("Raison de la perte", "Verlustgrund", "Motivo de la pérdida"),
    "currency": ("Devise", "Währung", "Moneda", "Divisa"),
}  # fmt: skip
"""Headers recognised for each field after the English and Chinese ones of
`leadrouter.sim.headers.ALIASES`, as written (French, German, Spanish)."""

WON = (
    "Gagné", "Gagnée", "Fermé gagné", "Fermée gagnée", "Conclu gagné", "Conclue gagnée",
    "Fermé - Converti", "Converti",
    "Gewonnen", "Abgeschlossen und gewonnen", "Abgeschlossen - gewonnen",
    "Geschlossen - Konvertiert", "Konvertiert",
    "Ganado", "Ganada", "Cerrado ganado", "Cerrada ganada", "Cerrado - Convertido",
    "Convertido",
)  # fmt: skip
"""Stage values read as won: a deal won (Closed Won), a lead converted (Closed - Converted)."""
LOST = (
    "Perdu", "Perdue", "Fermé perdu", "Fermée perdue", "Conclu perdu", "Conclue perdue",
    "Fermé - Non converti", "Non qualifié",
    "Verloren", "Abgeschlossen und verloren", "Abgeschlossen - verloren",
    "Geschlossen - Nicht konvertiert", "Nicht qualifiziert",
    "Perdido", "Perdida", "Cerrado perdido", "Cerrada perdida", "Cerrado - No convertido",
    "No calificado",
)  # fmt: skip
"""Stage values read as lost: a deal lost (Closed Lost), a lead closed unconverted or not
qualified."""
OPEN = (
    "Ouvert", "Ouverte", "Nouveau", "En cours",
    "Offen", "Neu", "In Bearbeitung",
    "Abierto", "Abierta", "Nuevo", "En curso",
)  # fmt: skip
"""Stage values read as open: a deal or lead still being worked."""

SALESFORCE_LEADS: tuple[dict[str, str], ...] = (
    {"rep_id": "Propriétaire du lead", "stage": "Statut du lead", "arrived_at": "Date de création"},
    {
        "rep_id": "Propriétaire de la piste",
        "stage": "Statut de la piste",
        "arrived_at": "Date de création",
    },
    {"rep_id": "Lead-Inhaber", "stage": "Lead-Status", "arrived_at": "Erstellungsdatum"},
    {
        "rep_id": "Propietario del candidato",
        "stage": "Estado del candidato",
        "arrived_at": "Fecha de creación",
    },
)
"""The Lead Owner, Lead Status and Create Date of a Salesforce leads report in French (which
has called a lead `lead` and, before, `piste`), German and Spanish (`candidato`): all three
together identify the report, as Lead Owner, Lead Status and Create Date do in English. No
other CRM's export has the three: HubSpot's French contacts have `Statut du lead` but
`Propriétaire du contact`, Zoho's leads `Heure de création` (Created Time)."""
QUALIFIED = ("Qualifié", "Qualifiée", "Qualifiziert", "Calificado", "Calificada", "Cualificado")
"""Salesforce's lead status Qualified, the status it gives a converted lead, as its French,
German and Spanish orgs write it: won in a Salesforce leads report only (elsewhere a qualified
lead is one still being worked)."""

MONTHS = {
    "English": (
        "January Jan", "February Feb", "March Mar", "April Apr", "May", "June Jun",
        "July Jul", "August Aug", "September Sept Sep", "October Oct", "November Nov",
        "December Dec",
    ),
    "French": (
        "janvier janv", "février févr fevr", "mars", "avril avr", "mai", "juin",
        "juillet juil", "août", "septembre sept", "octobre oct", "novembre nov",
        "décembre déc",
    ),
    "German": (
        "Januar Jänner Jan", "Februar Feb", "März Mär Mrz", "April Apr", "Mai", "Juni Jun",
        "Juli Jul", "August Aug", "September Sept Sep", "Oktober Okt", "November Nov",
        "Dezember Dez",
    ),
    "Spanish": (
        "enero ene", "febrero feb", "marzo mar", "abril abr", "mayo may", "junio jun",
        "julio jul", "agosto ago", "septiembre setiembre sept sep", "octubre oct",
        "noviembre nov", "diciembre dic",
    ),
}  # fmt: skip
"""Month names and their abbreviations, January first, as the CRMs and spreadsheets of each
language write them in a date (`Jan 3, 2026`, `3 janvier 2026`, `3. Januar 2026`, `3 de enero
de 2026`). A name or abbreviation shared by two languages is the same month in both (`mar`,
`mai`, `sept`), which `MONTH_NUMBERS` checks as it is built."""
WEEKDAYS = {
    "English": tuple(" ".join(names) for names in ENGLISH_DAYS),
    "French": (
        "lundi lun", "mardi mar", "mercredi mer", "jeudi jeu", "vendredi ven", "samedi sam",
        "dimanche dim",
    ),
    "German": (
        "Montag Mo", "Dienstag Di", "Mittwoch Mi", "Donnerstag Do", "Freitag Fr",
        "Samstag Sonnabend Sa", "Sonntag So",
    ),
    "Spanish": (
        "lunes lun", "martes mar", "miércoles mié", "jueves jue", "viernes vie", "sábado sáb",
        "domingo dom",
    ),
}  # fmt: skip
"""Weekday names and their abbreviations, Monday first, as a date written with its weekday
starts (`Mon, Jan 5, 2026`, `lundi 5 janvier 2026`, `Mo., 5. Januar 2026`, `lunes, 5 de enero
de 2026`); the English ones are `leadrouter._written.ENGLISH_DAYS`, which a playbook's shifts
read. A name shared by two languages is the same day in both (`lun`, `mar`), which
`WEEKDAY_NUMBERS` checks as it is built."""


def _numbers(names: Mapping[str, tuple[str, ...]], first: int, what: str) -> dict[str, int]:
    numbers: dict[str, int] = {}
    for language, written in names.items():
        for number, words in enumerate(written, start=first):
            for name in words.split():
                key = unaccented(name).lower()
                if numbers.setdefault(key, number) != number:
                    raise ValueError(f"{language} {name!r} is {what} {number}, elsewhere not")
    return numbers


MONTH_NUMBERS = _numbers(MONTHS, 1, "month")
"""{month name, lower case and unaccented: its number}, of every language of `MONTHS`."""
WEEKDAY_NUMBERS = _numbers(WEEKDAYS, 0, "day")
"""{weekday name, lower case and unaccented: its number, 0 for Monday as `date.weekday()`}, of
every language of `WEEKDAYS`."""
