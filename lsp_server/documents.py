"""One view of an open document per version: its text with `\\n` line ends, its lines, where each
line starts, and its language, built once and shared by every feature that reads the document.

Editors send `\\r\\n` documents, UTF-16 columns (by default), and ask for several features at the
same version (inline completion, diagnostics, inlay hints, code actions); each of them used to
split and normalise the text on its own. Here that happens once per version.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from lsprotocol import types
from pygls.workspace import TextDocument

from assist.suggest import Cursor
from mathcore.languages import Language, language_of

__all__ = ["DocumentView", "view_of"]


@dataclass(frozen=True, eq=False)
class DocumentView:
    """A document at one version. `language_id` is the editor's; `language` what mathassist reads it as."""

    uri: str
    version: int | None
    text: str
    lines: tuple[str, ...]
    starts: tuple[int, ...]  # offset of each line's first character in `text`
    language_id: str
    language: Language
    _doc: TextDocument

    def offset_at(self, line: int, character: int) -> int:
        """The offset in `text` of an LSP position (in the negotiated column encoding), clamped to the document.

        Mathematical letters such as 𝔽 or 𝒪 count two UTF-16 units; used as an index, such a
        column would shift the cursor to the right.
        """
        if line >= len(self.lines):
            return len(self.text)
        line = max(line, 0)
        return self.starts[line] + self.column(line, character)

    def column(self, line: int, character: int) -> int:
        """An LSP column on an existing `line` as a Python string index, clamped to the line's end."""
        text = self.lines[line]
        if text.isascii():  # O(1) in CPython: the common case costs nothing per keystroke
            return min(character, len(text))
        if character >= self._doc.position_codec.client_num_units(text):
            return len(text)
        return self._doc.position_codec.position_from_client_units([text], types.Position(line=0, character=character)).character

    def position(self, line: int, column: int) -> types.Position:
        """The LSP position of a code-point column on a line (the client counts UTF-16 units by default)."""
        text = self.lines[line] if 0 <= line < len(self.lines) else ""
        units = column if text[:column].isascii() else self._doc.position_codec.client_num_units(text[:column])
        return types.Position(line=line, character=units)

    def position_at(self, offset: int) -> types.Position:
        """The LSP position of an offset in `text`."""
        line = bisect.bisect_right(self.starts, offset) - 1
        return self.position(line, offset - self.starts[line])

    def cursor(self, line: int, character: int) -> Cursor:
        """The document with a cursor at an LSP position, for `assist.suggest`."""
        return Cursor(self.text, self.offset_at(line, character), self.language)

    def line_end(self, line: int) -> int:
        """The column (code points) where a line's text ends, trailing spaces left out."""
        return len(self.lines[line].rstrip()) if 0 <= line < len(self.lines) else 0


def view_of(doc: TextDocument) -> DocumentView:
    """Build the view of a pygls document as it is now."""
    text = doc.source.replace("\r\n", "\n")
    lines = tuple(text.split("\n"))
    starts, at = [], 0
    for line in lines:
        starts.append(at)
        at += len(line) + 1
    language_id = doc.language_id or language_of(doc.uri)
    return DocumentView(doc.uri, doc.version, text, lines, tuple(starts), language_id, Language.parse(language_id), doc)
