"""The report as a document: a list of blocks (headings, paragraphs, bullets, tables of `Cell`s,
preformatted text, boxes, figures) that the HTML, Markdown and terminal renderers each write in
their own way - one document for all three, so they say the same things in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import attrs


@attrs.frozen
class Cell:
    """A table cell: the `text`, an optional second line (`note`, e.g. an interval), a `tone`
    (better / worse / different) and a `mark` (the assumption mark)."""

    text: str
    note: str = ""
    tone: str = ""
    mark: str = ""


@attrs.frozen
class Heading:
    """A heading of `level` 1-3 (2: a section, 3: a subsection, numbered by
    `number_sections`); `anchor`: its HTML id."""

    level: int
    text: str
    anchor: str = ""


@attrs.frozen
class Para:
    """A paragraph; `style="note"` sets it apart (a callout in HTML, a quote in Markdown)."""

    text: str
    style: str = ""


@attrs.frozen
class Bullets:
    """A bulleted list, one plain-text item each."""

    items: tuple[str, ...]


@attrs.frozen
class Table:
    """A table: the `header` (all blank: no header row in HTML), rows of `Cell`s and an
    optional `caption` above it."""

    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    caption: str = ""


@attrs.frozen
class Pre:
    """Preformatted text, shown as written (the behaviour model's summary)."""

    text: str


@attrs.frozen
class Box:
    """A framed box with a `title` and `lines`; `tone` (pass / fail / warn) colours it."""

    tone: str
    title: str
    lines: tuple[str, ...]


@attrs.frozen
class Figure:
    """A chart: its PNG bytes, the file `name` Markdown refers to, its `alt` text and `caption`."""

    name: str
    png: bytes = attrs.field(repr=False)
    alt: str
    caption: str


@attrs.frozen
class Contents:
    """Links to the report's sections: (anchor, heading text) each, in order."""

    entries: tuple[tuple[str, str], ...]


Block: TypeAlias = Heading | Para | Bullets | Table | Pre | Box | Figure | Contents


def number_sections(blocks: Sequence[Block]) -> list[Block]:
    """`blocks` with every section heading numbered in order ("2. The data") and every
    subsection within it ("3.1 Policies"), so no section goes unnumbered and a section moved or
    left out renumbers the rest."""
    numbered: list[Block] = []
    section = subsection = 0
    for block in blocks:
        if isinstance(block, Heading) and block.level == 2:
            section, subsection = section + 1, 0
            block = attrs.evolve(block, text=f"{section}. {block.text}")
        elif isinstance(block, Heading) and block.level == 3 and section:
            subsection += 1
            block = attrs.evolve(block, text=f"{section}.{subsection} {block.text}")
        numbered.append(block)
    return numbered


def with_contents(blocks: Sequence[Block], after: int) -> list[Block]:
    """`blocks` with a `Contents` of their sections (level-2 headings with an anchor) inserted
    at position `after`; a report of fewer than three sections needs none."""
    entries = tuple(
        (block.anchor, block.text)
        for block in blocks
        if isinstance(block, Heading) and block.level == 2 and block.anchor
    )
    if len(entries) < 3:
        return list(blocks)
    return [*blocks[:after], Contents(entries), *blocks[after:]]
