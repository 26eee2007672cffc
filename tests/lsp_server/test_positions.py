"""Cursor columns from the client are UTF-16 units by default; the context must index code points."""

from __future__ import annotations

import pytest
from lsprotocol.types import PositionEncodingKind
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import PositionCodec

from lsp_server.documents import DocumentView, view_of

LINE = "Let 𝔽 be a field and 𝒪(n) &= "  # 𝔽 and 𝒪 are outside the BMP: two UTF-16 units each


def view(encoding: PositionEncodingKind, newline: str = "\n") -> DocumentView:
    text = f"\\begin{{align*}}\n{LINE}\n\\end{{align*}}\n".replace("\n", newline)
    return view_of(TextDocument("file:///t.tex", text, position_codec=PositionCodec(encoding)))


def test_utf16_columns_after_astral_letters_land_on_the_same_character() -> None:
    v = view(PositionEncodingKind.Utf16)
    end_utf16 = len(LINE.encode("utf-16-le")) // 2
    assert end_utf16 == len(LINE) + 2
    assert v.column(1, end_utf16) == len(LINE)
    at_n = LINE.index("(n)")
    assert v.column(1, at_n + 2) == at_n  # the column VS Code sends just before "(n)"
    ctx = v.cursor(1, at_n + 2).context()
    assert ctx.line_prefix.endswith("𝒪") and ctx.line_suffix.startswith("(n)")
    assert v.position(1, at_n).character == at_n + 2  # and back, for diagnostics and hints


@pytest.mark.parametrize("encoding", [PositionEncodingKind.Utf32, PositionEncodingKind.Utf16])
def test_ascii_lines_and_positions_past_the_end_are_clamped(encoding: PositionEncodingKind) -> None:
    v = view(encoding)
    assert v.column(0, 5) == 5
    assert v.offset_at(99, 7) == len(v.text)
    assert v.column(1, 500) == len(LINE)


def test_utf32_clients_send_code_points() -> None:
    v = view(PositionEncodingKind.Utf32)
    assert v.column(1, 6) == 6
    assert v.position(1, 6).character == 6


def test_windows_line_ends_are_read_once_as_newlines() -> None:
    v = view(PositionEncodingKind.Utf16, "\r\n")
    assert "\r" not in v.text and v.lines[1] == LINE
    assert v.offset_at(2, 0) == v.text.index("\\end")
