"""`mathassist check`: the derivation checker as a linter, for terminals, CI and pre-commit.

Every core decides steps (workers = cores), and verdicts are kept in a cache file in the user's
cache folder (`checker.default_cache_dir()`), keyed by the normalised step and the checker's
version, so re-checking unchanged documents decides nothing. Output formats:

- `text`: compiler-style `file:line:column: wrong step: ...` lines, a summary on stderr;
- `json`: a list with one object per step (file, line, column, verdict, message, step,
  counterexample when wrong);
- `sarif`: SARIF 2.1.0 for GitHub code scanning (wrong steps as warnings, rounded values as notes);
- `github`: `::warning file=...` workflow commands, which GitHub Actions shows as annotations.

Exit status: 1 if a step is wrong, else 0 (an `approximate` step is information, never a failure).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from checker import Checker, CheckerConfig, Result, Verdict, checker_version, default_cache_dir
from mathcore.languages import language_of

__all__ = ["FORMATS", "check_files", "github_lines", "sarif", "text_lines"]

FORMATS = ("text", "json", "sarif", "github")
CACHE_NAME = "checker.sqlite"
_RULES = {
    Verdict.WRONG: ("wrong-step", "warning", "A derivation step that is false: values where both sides are defined and differ."),
    Verdict.APPROXIMATE: ("approximate-step", "note", "A value rounded to the digits written: approximately, not exactly, equal."),
}


def check_files(texts: dict[str, str], timeout: float, workers: int | None = None, cache: bool = True) -> dict[str, list[Result]]:
    """The verdicts on every step of each file, decided by `workers` processes (default: every core)."""
    from mathcore.steps import extract_claims

    config = CheckerConfig(timeout=timeout, workers=workers or os.cpu_count() or 1,
                           cache_file=default_cache_dir() / CACHE_NAME if cache else None, cache_size=1 << 20, background=False)
    claims = [(path, c) for path, text in texts.items() for c in extract_claims(text, language_of(path))]
    with Checker(config) as checker:
        decisions = checker.decisions([c for _, c in claims])  # one batch: every core busy
    out: dict[str, list[Result]] = {path: [] for path in texts}
    for (path, c), d in zip(claims, decisions, strict=True):
        if d is not None:  # None: no claim after all (a definition, an equation)
            out[path].append(Result(c.line, c.column, d.verdict, d.message, c.text, d.counterexample))
    return out


def text_lines(results: dict[str, list[Result]]) -> list[str]:
    """Compiler-style lines: wrong steps, then approximate values as notes."""
    lines = []
    for path, rs in results.items():
        for r in rs:
            if r.verdict == Verdict.WRONG:
                lines.append(f"{path}:{r.line}:{r.column}: wrong step: {r.step}: {r.message}")
            elif r.verdict == Verdict.APPROXIMATE:
                lines.append(f"{path}:{r.line}:{r.column}: note: approximate: {r.step}: {r.message}")
    return lines


def summary(results: dict[str, list[Result]]) -> str:
    counts = {v: sum(r.verdict == v for rs in results.values() for r in rs) for v in Verdict}
    return (f"{sum(counts.values())} steps: {counts[Verdict.VERIFIED]} verified, {counts[Verdict.WRONG]} wrong, "
            f"{counts[Verdict.UNKNOWN]} unknown, {counts[Verdict.APPROXIMATE]} approximate")


def _escape(text: str, property_: bool = False) -> str:
    """GitHub's workflow-command escaping (data, and more for properties)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_ else text


def github_lines(results: dict[str, list[Result]]) -> list[str]:
    """`::warning file=F,line=L,col=C,title=T::message` per wrong step, `::notice` per rounded value."""
    lines = []
    for path, rs in results.items():
        for r in rs:
            if r.verdict in _RULES:
                command = "warning" if r.verdict == Verdict.WRONG else "notice"
                title = "wrong step" if r.verdict == Verdict.WRONG else "approximate value"
                lines.append(f"::{command} file={_escape(path, True)},line={r.line},col={r.column},title={_escape(title, True)}::"
                             + _escape(f"{r.step}: {r.message}"))
    return lines


def sarif(results: dict[str, list[Result]]) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run: wrong steps as warnings, rounded values as notes."""
    from model_server import __version__

    rules = [{"id": rule, "name": rule.replace("-", " ").title().replace(" ", ""), "shortDescription": {"text": text},
              "defaultConfiguration": {"level": level}} for rule, level, text in _RULES.values()]
    found = []
    for path, rs in results.items():
        uri = Path(path).as_posix()
        for r in rs:
            if r.verdict not in _RULES:
                continue
            rule, level, _ = _RULES[r.verdict]
            item: dict[str, Any] = {
                "ruleId": rule, "ruleIndex": [x["id"] for x in rules].index(rule), "level": level,
                "message": {"text": f"{r.step}: {r.message}"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri, **({} if Path(path).is_absolute() else
                                                                                         {"uriBaseId": "%SRCROOT%"})},
                                                    "region": {"startLine": r.line, "startColumn": r.column}}}],
            }
            if r.counterexample:
                item["properties"] = {"counterexample": r.counterexample}
            found.append(item)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "mathassist", "version": __version__, "semanticVersion": __version__,
                                "informationUri": "https://github.com/mathassist/mathassist", "rules": rules,
                                "properties": {"checkerVersion": checker_version()}}},
            "results": found,
        }],
    }


def run(paths: list[str], fmt: str, timeout: float, workers: int | None, cache: bool) -> int:
    """Read, check and print; the exit status as documented above (2: a file could not be read)."""
    texts = {}
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                texts[path] = f.read()
        except OSError as exc:
            print(f"mathassist check: cannot read {path} ({exc.strerror or exc})", file=sys.stderr)
            return 2
    results = check_files(texts, timeout, workers, cache)
    wrong = any(r.verdict == Verdict.WRONG for rs in results.values() for r in rs)
    if fmt == "json":
        print(json.dumps([r.to_json(path) for path, rs in results.items() for r in rs], ensure_ascii=False))
    elif fmt == "sarif":
        print(json.dumps(sarif(results), ensure_ascii=False, indent=1))
    elif fmt == "github":
        print("\n".join(github_lines(results)))
    else:
        for line in text_lines(results):
            print(line)
    print(summary(results), file=sys.stderr)
    return 1 if wrong else 0
