"""The linter's outputs as the tools that read them expect: SARIF 2.1.0 that validates against the
OASIS schema, GitHub workflow commands, compiler-style lines; and the result cache's bound."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import jsonschema

from checker import Result, Verdict
from checker._cache import BoundedCache
from mathassist.lint import github_lines, sarif, summary, text_lines

SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"  # from oasis-tcs/sarif-spec (see data/README.md)
RESULTS = {
    "notes/calculus.tex": [
        Result(12, 1, Verdict.WRONG, "at x = -2 the left side is 3 and the right side is 4", "(x+3)(x+5) = x^2 + 8x + 16",
               {"at": {"x": "-2"}, "left": "3", "right": "4"}),
        Result(14, 3, Verdict.VERIFIED, "the two sides are equal", "(x+1)^2 = x^2 + 2x + 1"),
        Result(20, 1, Verdict.APPROXIMATE, "6.66667 rounds to 6.67", "\\frac{20}{3} = 6.67"),
    ],
    "sheet, 1.md": [Result(3, 5, Verdict.UNKNOWN, "undecided within 2 s", "10^{10^{10}} = 10^{10^{10}} + 1")],
}


def test_sarif_output_is_valid_sarif_2_1_0_with_wrong_steps_as_warnings_and_rounding_as_notes() -> None:
    log = json.loads(json.dumps(sarif(RESULTS)))  # what is printed
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    results = log["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("wrong-step", "warning"), ("approximate-step", "note")]
    where = results[0]["locations"][0]["physicalLocation"]
    assert where["artifactLocation"]["uri"] == "notes/calculus.tex" and where["region"] == {"startLine": 12, "startColumn": 1}
    assert results[0]["properties"]["counterexample"]["at"] == {"x": "-2"}
    broken = {**log, "runs": [{**log["runs"][0], "results": [{**results[0], "level": "severe"}]}]}
    try:  # the schema really is checked: a level SARIF does not know is refused
        jsonschema.validators.validator_for(schema)(schema).validate(broken)
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("the SARIF schema accepted an unknown level")


def test_github_lines_are_workflow_commands_with_escaped_properties() -> None:
    lines = github_lines(RESULTS)
    assert lines == [
        "::warning file=notes/calculus.tex,line=12,col=1,title=wrong step::(x+3)(x+5) = x^2 + 8x + 16: at x = -2 the left side is 3 and "
        "the right side is 4",
        "::notice file=notes/calculus.tex,line=20,col=1,title=approximate value::\\frac{20}{3} = 6.67: 6.66667 rounds to 6.67",
    ]
    odd = github_lines({"a,b:c.md": [Result(1, 1, Verdict.WRONG, "50% off\nnext", "x = y")]})
    assert odd == ["::warning file=a%2Cb%3Ac.md,line=1,col=1,title=wrong step::x = y: 50%25 off%0Anext"]


def test_text_lines_and_summary() -> None:
    assert text_lines(RESULTS) == [
        "notes/calculus.tex:12:1: wrong step: (x+3)(x+5) = x^2 + 8x + 16: at x = -2 the left side is 3 and the right side is 4",
        "notes/calculus.tex:20:1: note: approximate: \\frac{20}{3} = 6.67: 6.66667 rounds to 6.67",
    ]
    assert summary(RESULTS) == "4 steps: 1 verified, 1 wrong, 1 unknown, 1 approximate"
    assert RESULTS["notes/calculus.tex"][0].to_json("f")["verdict"] == "wrong"  # the JSON keeps the strings


def test_the_result_cache_keeps_its_bound_under_many_threads_and_evicts_the_oldest() -> None:
    cache: BoundedCache[int, int] = BoundedCache(100)

    def fill(base: int) -> None:
        for i in range(2000):
            cache.put(base + i, i)
            cache.get(base + i // 2)

    threads = [threading.Thread(target=fill, args=(k * 10_000,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 100
    small: BoundedCache[str, int] = BoundedCache(2)
    small.put("a", 1)
    small.put("b", 2)
    small.get("a")  # used: b is now the oldest
    small.put("c", 3)
    assert (small.get("a"), small.get("b"), small.get("c")) == (1, None, 3)
