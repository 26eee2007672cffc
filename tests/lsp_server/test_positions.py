"""Cursor columns from the client are UTF-16 units by default; the context must index code points."""

from __future__ import annotations

import pytest
from lsprotocol.types import PositionEncodingKind
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import PositionCodec

from lsp_server.suggest import cursor_index
from mathcore.context import extract_context

LINE = "Let 𝔽 be a field and 𝒪(n) &= "  # 𝔽 and 𝒪 are outside the BMP: two UTF-16 units each


def doc(encoding: PositionEncodingKind) -> TextDocument:
    return TextDocument("file:///t.tex", f"\\begin{{align*}}\n{LINE}\n\\end{{align*}}\n", position_codec=PositionCodec(encoding))


def test_utf16_columns_after_astral_letters_land_on_the_same_character() -> None:
    d = doc(PositionEncodingKind.Utf16)
    end_utf16 = len(LINE.encode("utf-16-le")) // 2
    assert end_utf16 == len(LINE) + 2
    assert cursor_index(d, 1, end_utf16) == len(LINE)
    at_n = LINE.index("(n)")
    assert cursor_index(d, 1, at_n + 2) == at_n  # the column VS Code sends just before "(n)"
    ctx = extract_context(d.source, 1, cursor_index(d, 1, at_n + 2), "latex")
    assert ctx.line_prefix.endswith("𝒪") and ctx.line_suffix.startswith("(n)")


@pytest.mark.parametrize("encoding", [PositionEncodingKind.Utf32, PositionEncodingKind.Utf16])
def test_ascii_lines_and_positions_past_the_end_are_left_alone(encoding: PositionEncodingKind) -> None:
    d = doc(encoding)
    assert cursor_index(d, 0, 5) == 5
    assert cursor_index(d, 99, 7) == 7
    assert cursor_index(d, 1, 500) == len(LINE)


def test_utf32_clients_send_code_points() -> None:
    assert cursor_index(doc(PositionEncodingKind.Utf32), 1, 6) == 6
