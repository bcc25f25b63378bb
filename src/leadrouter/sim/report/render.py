"""The report's blocks written as one self-contained HTML page (inline CSS, charts as PNG data
URIs, nothing fetched) and as Markdown (charts as PNG files beside it). Every text taken from the
data is escaped: HTML-significant characters in both, Markdown punctuation in Markdown.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence

from leadrouter.sim.report.document import (
    Block,
    Box,
    Bullets,
    Cell,
    Contents,
    Heading,
    Para,
    Pre,
    Table,
)
from leadrouter.sim.report.formats import BOLD_TONES

_CSS = """
body{font:15px/1.5 -apple-system,"Segoe UI",Roboto,"Noto Sans","PingFang SC","Microsoft YaHei",
sans-serif;color:#1f2328;max-width:1180px;margin:2em auto;padding:0 1.2em;background:#fff}
h1{font-size:1.8em;margin-bottom:.2em}h2{border-bottom:1px solid #d0d7de;padding-bottom:.2em;
margin-top:2em}h3{margin-top:1.4em;font-size:1.05em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.86em}
th,td{border:1px solid #d0d7de;padding:.3em .55em;text-align:left;vertical-align:top}
th{background:#f6f8fa}caption{caption-side:top;text-align:left;color:#57606a;
font-size:.95em;padding:.2em 0}
td .note{display:block;color:#6e7781;font-size:.9em;white-space:nowrap}
td.better{color:#1a7f37;font-weight:600}td.worse{color:#cf222e;font-weight:600}
td.different{font-weight:600}td.alert{color:#cf222e}.mark{color:#9a6700}
.box{border:2px solid;border-radius:6px;padding:.8em 1.1em;margin:1em 0}
.box h3{margin:0 0 .4em}.box ul{margin:.2em 0 0}
.box.fail{border-color:#cf222e;background:#ffebe9}.box.fail h3{color:#a40e26}
.box.warn{border-color:#bf8700;background:#fff8c5}.box.warn h3{color:#7d4e00}
.box.pass{border-color:#1a7f37;background:#dafbe1}.box.pass h3{color:#116329}
pre{background:#f6f8fa;border:1px solid #d0d7de;padding:.8em;overflow-x:auto;font-size:.85em}
figure{margin:1em 0 2em}figure img{max-width:100%;border:1px solid #d0d7de}
figcaption{color:#57606a;font-size:.9em;margin-top:.3em}
p.note{border-left:4px solid #0969da;background:#ddf4ff;padding:.6em 1em}
p.note.alert{border-left-color:#cf222e;background:#ffebe9}
p.note.caution{border-left-color:#bf8700;background:#fff8c5}
td .word{font-weight:400;font-size:.85em}
.overflow{overflow-x:auto}
nav.contents ul{list-style:none;padding-left:0;columns:2 22em;margin:.4em 0 1.4em}
nav.contents li{margin:.1em 0}
@media print{body{max-width:none;margin:0;padding:0;font-size:11px}nav.contents{display:none}
.overflow,pre{overflow:visible}pre{white-space:pre-wrap}td .note{white-space:normal}
table{font-size:.8em}tr,figure,.box{break-inside:avoid}h2,h3{break-after:avoid}}
"""


def render_html(blocks: Sequence[Block], title: str) -> str:
    """The blocks as one self-contained HTML page: inline CSS, images as data URIs."""
    e = _escape_html
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
    ]
    for block in blocks:
        parts.append(_html_block(block))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _escape_html(text: str) -> str:
    return html.escape(text, quote=True)


def _html_cell(cell: Cell, tag: str = "td") -> str:
    e = _escape_html
    classes = f' class="{cell.tone}"' if cell.tone else ""
    mark = f'<span class="mark">{e(cell.mark)}</span>' if cell.mark else ""
    note = f'<span class="note">{e(cell.note)}</span>' if cell.note else ""
    # the word as well as the colour: red and green alone are one colour to many readers
    word = f' <span class="word">({cell.tone})</span>' if cell.tone in ("better", "worse") else ""
    return f"<{tag}{classes}>{e(cell.text)}{mark}{word}{note}</{tag}>"


def _html_block(block: Block) -> str:
    e = _escape_html
    if isinstance(block, Heading):
        anchor = f' id="{e(block.anchor)}"' if block.anchor else ""
        return f"<h{block.level}{anchor}>{e(block.text)}</h{block.level}>"
    if isinstance(block, Para):
        style = f' class="{block.style}"' if block.style else ""
        return f"<p{style}>{e(block.text)}</p>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{e(item)}</li>" for item in block.items) + "</ul>"
    if isinstance(block, Table):
        caption = f"<caption>{e(block.caption)}</caption>" if block.caption else ""
        head = ""
        if any(block.header):
            head = (
                "<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in block.header) + "</tr></thead>"
            )
        body = "".join(
            "<tr>" + "".join(_html_cell(cell) for cell in row) + "</tr>" for row in block.rows
        )
        return f'<div class="overflow"><table>{caption}{head}<tbody>{body}</tbody></table></div>'
    if isinstance(block, Pre):
        return f"<pre>{e(block.text)}</pre>"
    if isinstance(block, Contents):
        links = "".join(f'<li><a href="#{e(a)}">{e(text)}</a></li>' for a, text in block.entries)
        return f'<nav class="contents" aria-label="Contents"><ul>{links}</ul></nav>'
    if isinstance(block, Box):
        items = "".join(f"<li>{e(line)}</li>" for line in block.lines)
        listing = f"<ul>{items}</ul>" if items else ""
        return f'<div class="box {block.tone}"><h3>{e(block.title)}</h3>{listing}</div>'
    data = base64.b64encode(block.png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{e(block.alt)}">'
        f"<figcaption>{e(block.caption)}</figcaption></figure>"
    )


# ------------------------------------------------------------------------------ Markdown


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])")


def _escape_md(text: str) -> str:
    """Text for Markdown: HTML-significant characters as entities (a renderer would read raw
    HTML), Markdown punctuation backslash-escaped, newlines as spaces."""
    text = html.escape(text, quote=False)
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def _md_cell(cell: Cell) -> str:
    text = _escape_md(cell.text) + _escape_md(cell.mark)
    if cell.tone in BOLD_TONES:
        word = {"better": " (better)", "worse": " (worse)"}.get(cell.tone, "")
        text = f"**{text}**{word}"
    if cell.note:
        text += f"<br>{_escape_md(cell.note)}"
    return text or " "


def _slug(heading: str) -> str:
    """The anchor Markdown renderers (GitHub, GitLab, VS Code) give a heading: lower case,
    punctuation dropped, spaces as hyphens ("3. The comparison" -> "3-the-comparison")."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def render_markdown(blocks: Sequence[Block]) -> str:
    """The blocks as Markdown; figures are referenced by their file names (written beside)."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {_escape_md(block.text)}")
        elif isinstance(block, Para):
            text = _escape_md(block.text)
            out.append(f"> {text}" if block.style else text)
        elif isinstance(block, Bullets):
            out.append("\n".join(f"- {_escape_md(item)}" for item in block.items))
        elif isinstance(block, Table):
            lines = []
            if block.caption:
                lines.append(f"*{_escape_md(block.caption)}*")
                lines.append("")
            header = [_escape_md(h) or " " for h in block.header]
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "|".join("---" for _ in header) + "|")
            lines.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows)
            out.append("\n".join(lines))
        elif isinstance(block, Pre):
            fence = "````" if "```" in block.text else "```"
            out.append(f"{fence}text\n{block.text}\n{fence}")
        elif isinstance(block, Contents):
            out.append(
                "\n".join(f"- [{_escape_md(text)}](#{_slug(text)})" for _, text in block.entries)
            )
        elif isinstance(block, Box):
            mark = {"fail": "❌", "warn": "⚠️", "pass": "✅"}.get(block.tone, "")
            lines = [f"> **{mark} {_escape_md(block.title)}**"]
            if block.lines:
                lines.append(">")
                lines.extend(f"> - {_escape_md(line)}" for line in block.lines)
            out.append("\n".join(lines))
        else:
            out.append(f"![{_escape_md(block.alt)}]({block.name})\n\n*{_escape_md(block.caption)}*")
    return "\n\n".join(out) + "\n"
