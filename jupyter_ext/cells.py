"""A notebook as mathassist reads it (pure): the cells above the cursor are the document.

The browser sends the notebook's cells up to the one being edited and the cursor in that cell (in
code points, as JupyterLab's completer gives it); `document_at` joins the mathematics of those
cells into one Markdown document, so the language server's context extraction, post-processing
and checker read a notebook exactly as they read a `.md` file:

- a Markdown cell is Markdown (`$...$`, `$$...$$`, `\\begin{aligned}`);
- a `%%solve` cell is its problem: the lines after the magic's first line;
- any other code cell is left out (Python is not the derivation).

Cells are joined by a blank line, so a display in one cell never runs into the next. The parsing
of the request body happens here too, once, into a typed `SuggestRequest`; anything malformed
raises `BadInput` with a message that says what to send instead.

Marks for wrong steps go back to CodeMirror, whose positions are UTF-16 code units, not code points:
`utf16_offset` converts (an `𝔽` is one code point and two units).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assist.suggest import Cursor
from jupyter_ext.errors import BadInput
from mathcore.languages import Language

__all__ = ["MAX_CHARS", "Cell", "SuggestRequest", "document_at", "parse_cell", "parse_suggest", "solve_body", "utf16_offset"]

MAX_CHARS = 1_000_000  # a notebook's text above the cursor (some 15,000 derivation rows): past this, a clear 413
SOLVE_MAGIC = "%%solve"
SEPARATOR = "\n\n"
_BINARY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")  # controls no text cell holds (tab, newlines allowed)


@dataclass(frozen=True)
class Cell:
    """One cell as the browser sends it: `markdown`, `code` or `raw`, and its source."""

    cell_type: str
    source: str


@dataclass(frozen=True)
class SuggestRequest:
    """A ghost-text request: the notebook (its path: one generation in flight per notebook), the
    cells up to the edited one (the last), the cursor in it (code points), and the trigger."""

    notebook: str
    cells: tuple[Cell, ...]
    offset: int
    explicit: bool


def solve_body(source: str) -> tuple[str, int] | None:
    """The problem of a `%%solve` cell and where it starts in the source; None for any other cell."""
    if not source.startswith(SOLVE_MAGIC) or source[len(SOLVE_MAGIC) : len(SOLVE_MAGIC) + 1] not in ("", " ", "\t", "\n"):
        return None
    newline = source.find("\n")
    start = len(source) if newline < 0 else newline + 1
    return source[start:], start


def _mathematics(cell: Cell) -> tuple[str, int] | None:
    """The part of a cell mathassist reads, and where it starts in the cell; None for other code."""
    if cell.cell_type == "markdown":
        return cell.source, 0
    if cell.cell_type == "code":
        return solve_body(cell.source)
    return None


def document_at(cells: Sequence[Cell], offset: int) -> Cursor | None:
    """The Markdown document of the cells (the last one being edited, the cursor at `offset` in it);
    None when the cursor is not in mathematics (a code cell other than `%%solve`, or its magic line)."""
    if not cells:
        return None
    here = _mathematics(cells[-1])
    if here is None or offset < here[1]:
        return None
    parts = [part for part, _ in filter(None, map(_mathematics, cells[:-1]))]
    above = "".join(p.replace("\r\n", "\n") + SEPARATOR for p in parts)
    current, start = here
    before = current[: offset - start].replace("\r\n", "\n")
    after = current[offset - start :].replace("\r\n", "\n")
    return Cursor(above + before + after, len(above) + len(before), Language.MARKDOWN)


def parse_cell(raw: Any, where: str) -> Cell:
    """One cell of a request body; `where` names it in errors (`cells[3]`)."""
    if not isinstance(raw, dict):
        raise BadInput(f"{where} must be an object with cell_type and source")
    cell_type, source = raw.get("cell_type"), raw.get("source")
    if cell_type not in ("markdown", "code", "raw"):
        raise BadInput(f"{where}.cell_type must be markdown, code or raw, got {cell_type!r}")
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        source = "".join(source)  # nbformat's on-disk form
    if not isinstance(source, str):
        raise BadInput(f"{where}.source must be a string")
    if (junk := _BINARY.search(source)) is not None:
        raise BadInput(f"{where} holds binary data (character U+{ord(junk.group()):04X} at offset {junk.start()}); "
                       "mathassist reads text cells only")
    return Cell(cell_type, source)


def parse_suggest(body: Any) -> SuggestRequest:
    """Validate a suggestion request body (already decoded JSON) into a `SuggestRequest`."""
    if not isinstance(body, dict):
        raise BadInput("the request body must be a JSON object with notebook, cells, offset")
    notebook = body.get("notebook", "")
    if not isinstance(notebook, str):
        raise BadInput("notebook must be the notebook's path, a string")
    raw_cells = body.get("cells")
    if not isinstance(raw_cells, list) or not raw_cells:
        raise BadInput("cells must be a non-empty list: the cells above the cursor and, last, the cell being edited")
    total = sum(len(c.get("source", "")) for c in raw_cells if isinstance(c, dict) and isinstance(c.get("source"), str))
    if total > MAX_CHARS:
        raise BadInput(f"the cells above the cursor hold {total:,} characters; mathassist reads at most {MAX_CHARS:,} "
                       "(split the notebook, or move long data out of Markdown cells)", status=413)
    cells = tuple(parse_cell(c, f"cells[{i}]") for i, c in enumerate(raw_cells))
    offset = body.get("offset")
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= len(cells[-1].source):
        raise BadInput(f"offset must be the cursor's position in the last cell, an integer from 0 to {len(cells[-1].source)}, "
                       f"got {offset!r}")
    explicit = body.get("explicit", False)
    if not isinstance(explicit, bool):
        raise BadInput(f"explicit must be true or false, got {explicit!r}")
    return SuggestRequest(notebook, cells, offset, explicit)


def utf16_offset(text: str, offset: int) -> int:
    """The position of code point `offset` of `text` in UTF-16 code units (CodeMirror's positions)."""
    head = text[:offset]
    return offset if head.isascii() else len(head.encode("utf-16-le")) // 2
