"""The three document languages mathassist reads, and every name editors give them (pure).

One vocabulary for the whole product: the language server's language ids (`tex`, `plaintex`,
`text`...), file names (`mathassist check notes.md`), the settings' `languages` groups and the
readers of context and steps all go through `Language.parse` and `language_of`, so they agree on
what a document is, and on what follows from it (in LaTeX, `%` starts a comment; in Markdown and
plain text it is a percent sign).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EDITOR_IDS", "Language", "language_of"]


class Language(StrEnum):
    """A document language; its value is the settings' group name (`mathassist.languages.latex`)."""

    LATEX = "latex"
    MARKDOWN = "markdown"
    PLAINTEXT = "plaintext"

    @classmethod
    def from_id(cls, language_id: str) -> Language | None:
        """The language of an editor's language id (LSP `languageId`), None for one mathassist does not serve."""
        return EDITOR_IDS.get(language_id.lower())

    @classmethod
    def parse(cls, language: str) -> Language:
        """Like `from_id`, but anything unknown reads as plain text (what the pure readers want)."""
        return EDITOR_IDS.get(language.lower(), cls.PLAINTEXT)

    @property
    def comment(self) -> str | None:
        """What starts a comment to the end of the line, if anything."""
        return "%" if self is Language.LATEX else None


EDITOR_IDS: dict[str, Language] = {
    "latex": Language.LATEX, "tex": Language.LATEX, "plaintex": Language.LATEX, "context": Language.LATEX,
    "markdown": Language.MARKDOWN,
    "plaintext": Language.PLAINTEXT, "text": Language.PLAINTEXT, "plain": Language.PLAINTEXT,
}

_SUFFIXES = {
    Language.LATEX: (".tex", ".latex", ".ltx", ".sty", ".cls"),
    Language.MARKDOWN: (".md", ".markdown", ".mdx"),
}


def language_of(path: str) -> Language:
    """The language of a file name or URI by its extension; plain text for anything else."""
    lower = path.lower()
    for language, suffixes in _SUFFIXES.items():
        if lower.endswith(suffixes):
            return language
    return Language.PLAINTEXT
