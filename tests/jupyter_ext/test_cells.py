"""A notebook as a document, requests parsed once, marks in CodeMirror's units, and the shipped
files held to their sources: pure, no server."""

from __future__ import annotations

import json
import re
import tomllib

import pytest

from assist.settings import Settings
from checker import Result
from jupyter_ext import LABEXTENSION
from jupyter_ext.assistant import marks_of
from jupyter_ext.cells import MAX_CHARS, Cell, document_at, parse_suggest, solve_body, utf16_offset
from jupyter_ext.errors import BadInput
from jupyter_ext.schema import settings_schema
from mathcore.languages import Language
from model_server import __version__
from tests.conftest import ROOT

ABOVE = "We expand.\n\n$$\n\\begin{aligned}\n(x + 3)(x + 5) &= x^2 + 5x + 3x + 15 \\\\"
HERE = "&= \n\\end{aligned}\n$$"


def test_the_cells_above_are_the_document_and_python_cells_are_left_out() -> None:
    cells = [Cell("markdown", ABOVE), Cell("code", "import numpy as np"), Cell("raw", "raw text"), Cell("markdown", HERE)]
    at = document_at(cells, 3)
    assert at is not None and at.language is Language.MARKDOWN
    assert at.text == ABOVE + "\n\n" + HERE
    assert at.before == ABOVE + "\n\n&= "
    assert "numpy" not in at.text and "raw text" not in at.text


def test_a_solve_cell_is_its_problem_and_its_magic_line_is_not_mathematics() -> None:
    solve = "%%solve --samples 2\nFind $x$ with $2x + 3 = 7$."
    assert solve_body(solve) == ("Find $x$ with $2x + 3 = 7$.", len("%%solve --samples 2\n"))
    assert solve_body("%%solver\nx") is None and solve_body("print(1)") is None
    at = document_at([Cell("markdown", "Notes."), Cell("code", solve)], len(solve))
    assert at is not None and at.text == "Notes.\n\nFind $x$ with $2x + 3 = 7$." and at.offset == len(at.text)
    assert document_at([Cell("code", solve)], 3) is None  # in the magic's flags
    assert document_at([Cell("code", "x = 1")], 5) is None


def test_windows_line_ends_keep_the_cursor_where_it_was() -> None:
    at = document_at([Cell("markdown", "a\r\nb = 1\r\n"), Cell("markdown", "c\r\n= ")], 5)
    assert at is not None and at.before == "a\nb = 1\n\n\nc\n= " and "\r" not in at.text


def test_bad_requests_say_what_is_wrong() -> None:
    ok = {"notebook": "n.ipynb", "cells": [{"cell_type": "markdown", "source": "x = 1"}], "offset": 5}
    assert parse_suggest(ok).offset == 5
    cases = {
        "cells must be a non-empty list": {**ok, "cells": []},
        "cells[0].cell_type must be markdown, code or raw": {**ok, "cells": [{"cell_type": "heading", "source": ""}]},
        "offset must be the cursor's position in the last cell, an integer from 0 to 5": {**ok, "offset": 6},
        "holds binary data (character U+0000 at offset 3)": {**ok, "cells": [{"cell_type": "markdown", "source": "abc\x00\x01\x02"}]},
        "explicit must be true or false": {**ok, "explicit": "yes"},
    }
    for message, body in cases.items():
        with pytest.raises(BadInput, match=re.escape(message)) as err:
            parse_suggest(body)
        assert err.value.status == 400
    with pytest.raises(BadInput, match="mathassist reads at most 1,000,000") as err:
        parse_suggest({**ok, "cells": [{"cell_type": "markdown", "source": "x" * (MAX_CHARS + 1)}], "offset": 0})
    assert err.value.status == 413


def test_nbformat_source_lists_are_joined() -> None:
    body = {"cells": [{"cell_type": "markdown", "source": ["a = 1\n", "b = 2"]}], "offset": 0}
    assert parse_suggest(body).cells[0].source == "a = 1\nb = 2"


def test_marks_are_in_utf16_units_from_the_claim_to_the_end_of_its_row() -> None:
    source = "Over $\\mathbb{F}$: 𝔽\n$$\n\\begin{aligned}\n(a + 1)^2 &= a^2 + 1  \n\\end{aligned}\n$$"
    row = source.split("\n")[3]
    result = Result(line=4, column=row.index("&") + 1, verdict="wrong", message="at a = 1 the left side is 4 and the right side is 2",
                    step="(a + 1)^2 = a^2 + 1", counterexample={"at": {"a": "1"}})
    [mark] = marks_of([result, Result(4, 1, "verified", "ok", "x = x")], source)
    start = source.index(row) + row.index("&")
    assert (mark.start, mark.end) == (start + 1, start + 1 + len("&= a^2 + 1"))  # 𝔽 is two UTF-16 units; trailing spaces left out
    assert mark.counterexample == {"at": {"a": "1"}} and "left side is 4" in mark.message
    assert utf16_offset("𝔽x", 2) == 3 and utf16_offset("ab", 1) == 1


def test_the_settings_schema_is_built_from_the_parameter_table_and_shipped_as_built() -> None:
    schema = settings_schema()
    inline = schema["properties"]["inline"]["properties"]
    assert inline["temperature"] == {**inline["temperature"], "type": "number", "minimum": 0, "maximum": 2, "default": 0.0}
    assert inline["topP"]["exclusiveMinimum"] == 0 and inline["maxNewTokens"]["default"] == Settings().inline.max_new_tokens
    assert inline["debounceMs"]["default"] == Settings().debounce_ms and inline["verify"]["enum"] == ["filter", "off"]
    source = json.loads((ROOT / "jupyterlab-ext/schema/plugin.json").read_text())
    shipped = json.loads((ROOT / "jupyterlab-ext/prebuilt/schemas" / LABEXTENSION / "plugin.json").read_text())
    assert source == schema, "run `make labextension` (the schema comes from mathcore/sampling.py)"
    assert shipped == schema, "the prebuilt labextension is older than its schema: run `make labextension`"


def test_the_prebuilt_labextension_is_this_version_and_pyproject_installs_all_of_it() -> None:
    built = json.loads((ROOT / "jupyterlab-ext/prebuilt/package.json").read_text())
    assert built["name"] == LABEXTENSION and built["version"] == __version__
    assert (ROOT / "jupyterlab-ext/prebuilt" / built["jupyterlab"]["_build"]["load"]).exists()
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    listed = {src for sources in data.values() for src in sources}
    for path in (ROOT / "jupyterlab-ext/prebuilt").rglob("*"):
        if path.is_file():
            rel = path.relative_to(ROOT).as_posix()
            folder = rel.rsplit("/", 1)[0]
            assert rel in listed or f"{folder}/*" in listed, f"{rel} is not installed by pyproject.toml's data-files"
