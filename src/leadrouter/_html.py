"""The HTML fragment a result object shows in a notebook: a title, one table, a few notes.

Every `_repr_html_` of the library (History, Comparison, Calibration, Decision, Analysis) builds
its fragment here, so they all look alike and all escape the same way. Every piece of text is
escaped, because most of it comes from the data: a rep named `<script>` or `A&B`, a source in
Chinese, shows as written and is never read as markup. The fragment is plain HTML (no script, no
style sheet, nothing fetched), so it renders the same in Jupyter, VS Code and a static export.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

__all__ = ["render"]

_CELL = ' style="text-align:left"'
"""Notebooks right-align table cells; labels and sentences read better left-aligned."""


def _text(value: object) -> str:
    return html.escape(str(value), quote=True).replace("\n", "<br>")


def _row(cells: Sequence[object], tag: str) -> str:
    return "<tr>" + "".join(f"<{tag}{_CELL}>{_text(cell)}</{tag}>" for cell in cells) + "</tr>"


def render(
    title: str,
    rows: Iterable[Sequence[object]],
    *,
    header: Sequence[str] = (),
    notes: Iterable[str] = (),
) -> str:
    """A `<div>` holding `title` in bold, a table of `rows` (under a `header` row when given;
    without one, a two-column label/value table reads as a list of facts) and `notes` as a
    bulleted list. Cells are shown as `str(cell)`, escaped; format numbers before passing them."""
    head = f"<thead>{_row(header, 'th')}</thead>" if header else ""
    body = "".join(_row(cells, "td") for cells in rows)
    items = "".join(f"<li>{_text(note)}</li>" for note in notes)
    listing = f"<ul>{items}</ul>" if items else ""
    return (
        f'<div class="leadrouter"><p><strong>{_text(title)}</strong></p>'
        f"<table>{head}<tbody>{body}</tbody></table>{listing}</div>"
    )
