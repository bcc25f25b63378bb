"""French, German and Spanish words of CRM exports: the headers, stage values and month names
recognised, and the headers that identify a Salesforce leads report in those languages.

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

import unicodedata

__all__ = [
    "HEADERS",
    "LOST",
    "MONTHS",
    "MONTH_NUMBERS",
    "OPEN",
    "QUALIFIED",
    "SALESFORCE_LEADS",
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
language write them in a date (`3 janvier 2026`, `3. Januar 2026`, `3 de enero de 2026`).
A name or abbreviation shared by two languages is the same month in both (`mar`, `mai`,
`sept`), which `MONTH_NUMBERS` checks as it is built."""


def _month_numbers() -> dict[str, int]:
    numbers: dict[str, int] = {}
    for language, months in MONTHS.items():
        for number, names in enumerate(months, start=1):
            for name in names.split():
                key = unaccented(name).lower()
                if numbers.setdefault(key, number) != number:
                    raise ValueError(f"{language} {name!r} is month {number}, elsewhere not")
    return numbers


def unaccented(text: str) -> str:
    """`text` with the accents of Latin letters taken off (é -> e, ü -> u, ñ -> n) and
    compatibility forms made plain (full-width Ｉ -> I); other scripts keep their marks (the
    dakuten of Japanese kana), so only accents, never meaning, are ignored."""
    plain = "".join(
        char for char in unicodedata.normalize("NFKD", text) if not "\u0300" <= char <= "\u036f"
    )
    return unicodedata.normalize("NFC", plain)


MONTH_NUMBERS = _month_numbers()
"""{month name, lower case and unaccented: its number}, of every language of `MONTHS`."""
