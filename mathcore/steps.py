"""Derivation steps in a document: which rows of which math blocks claim what.

Pure text work, no sympy: the checker (`checker/`) decides each claim. Blocks are the display
environments (`align`, `equation`, `gather`, `multline`, `eqnarray`, with `split`/`aligned` inside,
starred or not), `\\[ \\]` and `$$ $$` (LaTeX and Markdown), and in plain text each paragraph.
Rows are split at `\\\\`; `&`, labels, tags and trailing punctuation go. Within a block:

- a row that starts with a relation (`&= C`) continues the chain: previous right side `rel` C;
- a row `A = B` that the next row continues is the start of a chain: a claim too;
- `a = b = c` on one row is a chain;
- a row with its own left side after another such row is an equation step (`implies`): every
  solution of the previous equation must solve this one;
- any other row `A = B` is `lone`: a claim only if A - B turns out constant (the checker decides).

Rows with `\\approx`, `:=`, `\\equiv`, `\\iff`, arrows or matrices make no claim.

With `inline=True` (a model's solution, a proof step), each `$...$` and `\\(...\\)` in the text is
a block of one row as well: `$a = b = c$` is a chain, `$2 + 3 = 6$` a lone claim that is wrong.
`claims_at` reads the claims of a suggestion inserted into an unfinished document.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Literal

from mathcore.languages import Language

__all__ = ["Claim", "claims_at", "extract_claims", "new_variables", "split_relations"]

Kind = Literal["chain", "implies", "lone"]
_ENVS = r"align|equation|gather|multline|eqnarray|flalign|alignat"
_BLOCK = re.compile(rf"\\begin\{{({_ENVS})(\*?)\}}(.*?)\\end\{{\1\2\}}|\\\[(.*?)\\\]|\$\$(.*?)\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$])\$([^$\n]+?)(?<!\\)\$(?!\$)|\\\((.+?)\\\)")
ROWS_READ = 40  # rows above a suggestion that are read to check it
_OPEN = re.compile(rf"\\(begin|end)\{{((?:{_ENVS})\*?)\}}|\\\[|\\\]|\$\$")
_RELATIONS = [("\\leqslant", "<="), ("\\geqslant", ">="), ("\\leq", "<="), ("\\geq", ">="), ("\\le", "<="), ("\\ge", ">="),
              ("<", "<"), (">", ">"), ("=", "=")]
_SKIP = re.compile(r"\\approx|:=|\\coloneqq|\\equiv|\\iff|\\implies|\\Rightarrow|\\Leftarrow|\\Longrightarrow|\\to\b|\\mapsto"
                   r"|\\neq?\b|\\sim|\\cong|\\propto|\\begin\{(?:[pbBvV]?matrix|smallmatrix|cases|array)\}|\\in\b|\\subset")
_NOISE = re.compile(r"\\(label|tag\*?|eqref|ref)\{[^}]*\}|\\(nonumber|notag|quad|qquad|displaystyle|left\.|right\.)|&"
                    r"|\\begin\{(split|aligned|gathered)\}(\[[a-z]\])?|\\end\{(split|aligned|gathered)\}")


@dataclass(frozen=True)
class Claim:
    """One claim `lhs rel rhs` made at (line, column) (1-based), with the equation it follows from (`implies`)."""

    line: int
    column: int
    lhs: str
    relation: str
    rhs: str
    kind: Kind
    premise: tuple[str, str] | None = None
    assumptions: tuple[str, ...] = ()  # conditions stated near it (`x > 0`), in LaTeX, taken as given

    @property
    def text(self) -> str:
        return f"{self.lhs} {self.relation} {self.rhs}"


class _Lines:
    """Offsets to (line, column), 1-based, in O(log n): a document of many rows is indexed once."""

    def __init__(self, doc: str) -> None:
        self.starts = [0, *(m.end() for m in re.finditer("\n", doc))]

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset) - 1
        return line + 1, offset - self.starts[line] + 1


def split_relations(row: str) -> list[str] | None:
    """[part, rel, part, rel, part...] split at relations outside braces and brackets; None if none."""
    out, depth, start, i = [], 0, 0, 0
    while i < len(row):
        c = row[i]
        if c == "\\" and row.startswith(("\\{", "\\}"), i):
            i += 2
            continue
        if c in "{([":
            depth += 1
        elif c in "})]":
            depth -= 1
        elif depth == 0:
            for token, rel in _RELATIONS:
                if row.startswith(token, i) and not (token[0] == "\\" and row[i + len(token): i + len(token) + 1].isalpha()):
                    out += [row[start:i].strip(), rel]
                    i += len(token)
                    start = i
                    break
            else:
                i += 1
            continue
        i += 1
    if not out:
        return None
    return [*out, row[start:].strip()]


_CUT = re.compile(r"\\(?:quad|qquad)(?![a-zA-Z])|\\hspace\*?\{[^{}]*\}|\\;\s*\\;|,\s*\\[;:]"
                  r"|\\(?:text|mbox|textrm)\{\s*(?:for|if|when|where|whenever|with|provided|as long as|since)\b[^{}]*\}")
_CONDITION = re.compile(r"<|>|\\[lg]eq?(?![a-zA-Z])|\\[lg]t(?![a-zA-Z])|\\in(?![a-zA-Z])|\\neq?(?![a-zA-Z])|\\leqslant|\\geqslant")
_NESTED = re.compile(r"\\begin\{(cases|array|[pbBvV]?matrix|smallmatrix|subarray)\}.*?\\end\{\1\}", re.S)


def _clean(row: str) -> tuple[str, list[str]]:
    """The mathematics of a row, and the conditions written after it (`\\quad x > 0`, `\\text{for } x \\ge 2`)."""
    row = re.sub(r"^(\s|&|\\quad|\\qquad)*", lambda m: m.group(0).replace("\\quad", " ").replace("\\qquad", " "), row)  # indentation
    conditions: list[str] = []
    cut = _CUT.search(row)
    if cut:
        rest = re.sub(r"\\(?:text|mbox|textrm)\{[^{}]*\}", " ", row[cut.start():])
        rest = _CUT.sub(" ", rest).strip().strip(".,;() ")
        conditions = [c.strip() for c in re.split(r",\s*(?:\\text\{\s*and\s*\})?|\\text\{\s*and\s*\}", rest)
                      if _CONDITION.search(c)] if _CONDITION.search(rest) else []
        row = row[:cut.start()]
    row = _NOISE.sub(" ", row)
    row = re.sub(r"\\text\{[^{}]*\}\s*$|^\s*\\text\{[^{}]*\}", " ", row)  # a closing or opening remark
    row = re.sub(r"\\(,|;|!|:)", " ", row)
    return row.strip().rstrip(".,;").strip(), conditions


def _rows(body: str, base: int) -> list[tuple[str, int]]:
    """Rows of a block with the offset in the document where each begins (`\\\\` inside `cases` and
    matrices does not end a row of the block)."""
    body = _NESTED.sub(lambda m: m.group(0).replace("\\\\", "\x00\x00"), body)
    out, pos = [], 0
    for piece in re.split(r"(\\\\(?:\[[^\]]*\])?)", body):
        if piece.startswith("\\\\"):
            pos += len(piece)
            continue
        stripped = piece.lstrip()
        out.append((piece.replace("\x00\x00", "\\\\"), base + pos + len(piece) - len(stripped)))
        pos += len(piece)
    return out


def _columns(raw: str, offset: int) -> list[tuple[str, int]]:
    """An `align` row's equations: a new one starts at every second `&` (`a &= b & c &= d`)."""
    out, start, count, depth = [], 0, 0, 0
    for i, c in enumerate(raw):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "&" and depth == 0 and (i == 0 or raw[i - 1] != "\\"):
            count += 1
            if count % 2 == 0:
                out.append((raw[start:i], offset + start))
                start = i
    out.append((raw[start:], offset + start))
    return out


_Row = tuple[list[str], int] | None
_OPERATOR_START = re.compile(r"^(?:[+\-]|\\cdot|\\times)")
_OPERATOR_END = re.compile(r"(?:[+\-(]|\\cdot|\\times)$")


def _parsed_rows(raws: list[tuple[str, int]], conditions: list[str]) -> list[_Row]:
    """Each row split at its relations (None: no claim there); a row continued on the next line by a
    leading operator (`&\\quad + d`) is joined to it first."""
    texts: list[tuple[str, int, str] | None] = []
    for raw, offset in raws:
        text, found = _clean(raw)
        conditions += found
        if not text or _SKIP.search(raw):
            texts.append(None)
            continue
        previous = texts[-1] if texts else None
        lead = raw.split("&", 1)[0].strip() == "" or "&" not in raw
        if previous is not None and ((lead and _OPERATOR_START.match(text) and split_relations(text) is None)
                                     or _OPERATOR_END.search(previous[0])):
            texts[-1] = (previous[0] + " " + text, previous[1], previous[2] + raw)
            continue
        texts.append((text, offset, raw))
    rows: list[_Row] = []
    for item in texts:
        parts = split_relations(item[0]) if item else None
        if parts and len(parts) > 3 and parts[-1] == "":
            parts = parts[:-2]  # a row that ends in a relation is still being typed: its last relation claims nothing yet
        rows.append((parts, item[1]) if parts and item else None)
    return rows


def _block_claims(lines: _Lines, body: str, base: int, columns: bool = False, assumptions: tuple[str, ...] = ()) -> list[Claim]:
    """The claims of one display block; with `columns` (an `align`), each column of equations is read
    as its own derivation. Conditions written in the block hold for all its claims."""
    raws = _rows(body, base)
    per_row = [_columns(raw, offset) if columns else [(raw, offset)] for raw, offset in raws]
    conditions: list[str] = []
    streams = [_parsed_rows([r[c] if c < len(r) else ("", 0) for r in per_row], conditions)
               for c in range(max((len(r) for r in per_row), default=0))]
    given = tuple(dict.fromkeys((*assumptions, *conditions)))[:12]
    claims = [c for rows in streams for c in _chain_claims(lines, rows, given)]
    return sorted(claims, key=lambda c: (c.line, c.column)) if len(streams) > 1 else claims


def _chain_claims(lines: _Lines, rows: list[_Row], given: tuple[str, ...]) -> list[Claim]:
    claims: list[Claim] = []
    previous_rhs: str | None = None
    previous_equation: tuple[str, str] | None = None  # the last row with its own left side that is an equation
    for k, row in enumerate(rows):
        if row is None:
            previous_rhs, previous_equation = None, None
            continue
        parts, offset = row
        line, column = lines.position(offset)
        following = rows[k + 1] if k + 1 < len(rows) else None
        continues = following is not None and following[0][0] == ""
        if parts[0] == "":
            if previous_rhs is None:
                continue
            parts = [previous_rhs, *parts[1:]]
            pairs = [(parts[i], parts[i + 1], parts[i + 2]) for i in range(0, len(parts) - 2, 2)]
            claims += [Claim(line, column, a, rel, b, "chain", None, given) for a, rel, b in pairs if a and b]
            previous_rhs = parts[-1]
            previous_equation = None
            continue
        pairs = [(parts[i], parts[i + 1], parts[i + 2]) for i in range(0, len(parts) - 2, 2)]
        if any(not a or not b for a, _, b in pairs):
            previous_rhs, previous_equation = None, None
            continue
        if len(pairs) > 1 or continues:
            claims += [Claim(line, column, a, rel, b, "chain", None, given) for a, rel, b in pairs]
            previous_equation = None
        elif pairs[0][1] == "=" and previous_equation is not None:
            claims.append(Claim(line, column, pairs[0][0], "=", pairs[0][2], "implies", previous_equation, given))
            previous_equation = (pairs[0][0], pairs[0][2])
        else:
            a, rel, b = pairs[0]
            claims.append(Claim(line, column, a, rel, b, "lone", None, given))
            previous_equation = (a, b) if rel == "=" else None
        previous_rhs = parts[-1]
    return claims


def _plain(language: str) -> bool:
    return Language.parse(language) is Language.PLAINTEXT


def _plain_blocks(doc: str) -> list[tuple[str, int]]:
    """Plain text: each paragraph is a block whose lines are its rows."""
    blocks, pos = [], 0
    for para in re.split(r"(\n\s*\n)", doc):
        if para.strip() and not para.startswith("\n"):
            blocks.append((para.replace("\n", "\\\\\n"), pos))
        pos += len(para)
    return blocks


class _Assumed:
    """Conditions a document states near its blocks: inline `$x > 0$` in the paragraph before a block
    or the sentence after it, and `% mathassist: assume x > 0` (`<!-- mathassist: assume ... -->` in
    Markdown) from where it is written on."""

    _COMMENT = re.compile(r"(?:%|<!--)\s*mathassist:\s*assume\s+(.+?)\s*(?:-->|$)", re.M)

    def __init__(self, written: str, doc: str) -> None:
        self.doc = doc  # comments and code blanked out
        self.comments = [(m.start(), c.strip()) for m in self._COMMENT.finditer(written) for c in m.group(1).split(";") if c.strip()]

    def near(self, start: int, end: int) -> tuple[str, ...]:
        heading = max(self.doc.rfind("\n#", 0, start), self.doc.rfind("\\section", 0, start), self.doc.rfind("\\subsection", 0, start))
        after = self.doc.find("\n\n", end)
        text = self.doc[max(heading, start - 800, 0):start] + " " + self.doc[end:min(after if after >= 0 else len(self.doc), end + 300)]
        text = _BLOCK.sub(" ", text)
        text = re.sub(r"\$([a-zA-Z]|\\[a-zA-Z]+)\$\s+(?:is\s+|lies\s+)?in\s+\$\s*([\[(].+?[\])])\s*\$", r"$\1 \\in \2$", text)
        found = [m.group(1) or m.group(2) for m in _INLINE.finditer(text)]
        given = [g.strip().rstrip(".,;").strip() for g in found if _CONDITION.search(g) and not re.search(r"(?<![<>!:\\])=", g)]
        return tuple(dict.fromkeys([*(c for at, c in self.comments if at < start), *given]))


_NOT_CLAIMED = re.compile(r"\b(?:not|never|false|wrong|incorrect|impossible|contradict\w*|absurd|plug\w*|substitut\w*|mistake\w*)\b"
                          r"|n't\b", re.I)


def _sentence(text: str, start: int, end: int) -> str:
    """The prose around a piece of inline mathematics: back to the end of the previous sentence, on to the end of this one."""
    before = max(*(text.rfind(s, max(0, start - 200), start) for s in (". ", "\n", ": ", "; ")), start - 200, 0)
    stops = [i for i in (text.find(s, end, end + 200) for s in (". ", "\n", ": ", "; ")) if i >= 0]
    after = min(stops) if stops else min(len(text), end + 200)
    return _INLINE.sub(" ", text[before:start] + " " + text[end:after])


def extract_claims(doc: str, language: str, inline: bool = False) -> list[Claim]:
    """Every claim in `doc` (`latex`, `markdown` or `plaintext`), in document order; with `inline`,
    those of `$...$` too."""
    doc = doc.replace("\r\n", "\n")
    if _plain(language):
        claims = []
        for body, base in _plain_blocks(doc):
            # the \\ added per line shifts offsets by 2 per line: map rows back through the original lines
            for c in _block_claims(_Lines(body), body, 0):
                line = doc.count("\n", 0, base) + c.line
                claims.append(Claim(line, c.column, c.lhs, c.relation, c.rhs, c.kind, c.premise))
        return claims
    written = doc
    if Language.parse(language) is Language.MARKDOWN:
        doc = re.sub(r"```.*?```", lambda m: re.sub(r"[^\n]", " ", m.group(0)), doc, flags=re.S)  # code is not math; lines stay
    else:
        doc = re.sub(r"(?<!\\)%[^\n]*", lambda m: " " * len(m.group(0)), doc)  # comments
    claims = []
    lines = _Lines(doc)
    assumed = _Assumed(written, doc)
    for m in _BLOCK.finditer(doc):
        group = 3 if m.group(3) is not None else 4 if m.group(4) is not None else 5
        body = m.group(group)
        columns = m.group(1) in ("align", "flalign", "alignat") or "\\begin{aligned}" in body or "\\begin{alignedat}" in body
        claims += _block_claims(lines, body, m.start(group), columns, assumed.near(m.start(), m.end()))
    if inline:
        masked = _BLOCK.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), doc)
        for m in _INLINE.finditer(masked):
            group = 1 if m.group(1) is not None else 2
            if _NOT_CLAIMED.search(_sentence(masked, m.start(), m.end())):
                continue  # `$1 = 3 + 4$ is not true`, `plugging in 1 we get ...`, `Wrong: ...`: stated, not claimed
            claims += [c for c in _block_claims(lines, m.group(group), m.start(group)) if c.kind != "implies"]
        claims.sort(key=lambda c: (c.line, c.column))
    return claims


def _closers(text: str) -> str:
    """What closes the display blocks still open at the end of `text` (an unfinished derivation)."""
    stack: list[str] = []
    for m in _OPEN.finditer(text):
        token = m.group(0)
        if m.group(1) == "begin":
            stack.append(f"\\end{{{m.group(2)}}}")
        elif m.group(1) == "end":
            if stack and stack[-1] == token:
                stack.pop()
        elif token == "\\[":
            stack.append("\\]")
        elif token == "\\]":
            if stack and stack[-1] == token:
                stack.pop()
        elif stack and stack[-1] == "$$":
            stack.pop()
        else:
            stack.append("$$")
    return "".join("\n" + c for c in reversed(stack))


def claims_at(doc: str, language: str, start: int, end: int, inline: bool = False) -> list[Claim]:
    """The claims made on the lines of doc[start:end] (a suggestion inserted there), reading only
    the text up to `end` and closing the blocks still open there, as a derivation being typed is.

    Only the block the suggestion is in (or its paragraph), and of it only the last ROWS_READ rows,
    is read: a step depends on the rows just above it, and a long document costs nothing more.
    """
    if "\r\n" in doc:  # offsets are the caller's: move them with the line ends
        start, end = start - doc.count("\r\n", 0, start), end - doc.count("\r\n", 0, end)
        doc = doc.replace("\r\n", "\n")
    text = doc[:end]
    plain = _plain(language)
    closers = "" if plain else _closers(re.sub(r"(?<!\\)%[^\n]*", "", text) if Language.parse(language).comment else text)
    if closers:
        begin = _opener(text, closers.rsplit("\n", 1)[1])  # the outermost open block
        head = re.match(r"\\begin\{[^}]*\}|\\\[|\$\$", text[begin:])
        opener = head.group(0) if head else ""
        cut = start
        for _ in range(ROWS_READ):  # back over the last rows, each ended by \\
            cut = text.rfind("\\\\", begin + len(opener), cut)
            if cut < 0:
                break
        cut = cut + 2 if cut >= 0 else begin + len(opener)
    else:
        begin = text.rfind("\n\n", 0, start) + 1
        opener, cut = "", begin
    skipped = text.count("\n", 0, cut)
    read = opener + text[cut:] + closers
    first = text.count("\n", cut, start) + 1
    last = text.count("\n", cut, end) + 1
    return [Claim(c.line + skipped, c.column, c.lhs, c.relation, c.rhs, c.kind, c.premise)
            for c in extract_claims(read, language, inline) if first <= c.line <= last]


def _opener(text: str, closer: str) -> int:
    """Where the last block of `text` that `closer` (one of `_closers`) would close begins."""
    opener = {"\\]": "\\[", "$$": "$$"}.get(closer) or "\\begin{" + closer[len("\\end{"):]
    return max(text.rfind(opener), 0)


def _letters(math: str) -> set[str]:
    """The one-letter names used in some mathematics (commands, their names and `\\text{}` removed)."""
    math = re.sub(r"\\(text|mathrm|operatorname|label|tag|begin|end)\{[^{}]*\}|\\[a-zA-Z]+", " ", math)
    return set(re.findall(r"[a-zA-Z]", math))


def new_variables(before: str, suggestion: str, language: str = "latex") -> set[str]:
    """Letters that `suggestion` uses and that no mathematics up to the cursor (`before`) does.

    A model that writes `x^2 - 5x - 14` in a derivation about `t` has not taken a step: the filter
    of suggestions (`mathassist.inline.verify`) does not show such a candidate. Plain text does not
    tell mathematics from prose, so there every letter written before counts as used.
    """
    if _plain(language):
        return _letters(suggestion) - _letters(before)
    closers = _closers(before)
    # the innermost block still open at the cursor is mathematics up to the cursor
    opened = _opener(before, closers.split("\n")[1]) if closers else len(before)
    earlier = before[:opened]
    math = " ".join(m.group(0) for m in _BLOCK.finditer(earlier)) + " ".join(m.group(0) for m in _INLINE.finditer(earlier))
    seen = _letters(math + " " + before[opened:])
    return _letters(suggestion) - seen
