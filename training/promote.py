"""Promote a training leg to the shipped embedded model, only if it beats the first edition.

`python -m training.promote training/legs/embedded-leg3` compares the leg's last evaluation with
the first edition's (leg 0's, recorded in the same `training.json` chain by the same
`training.evaluate` command) row by row, and copies the checkpoint into `model_server/embedded/`
when no row is worse. One exception: "answered" is held to the issue's floor (95%) rather than to
the first edition's 100%, which it had only because it never declined anything.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from model_server.loading import EMBEDDED_DIR

__all__ = ["compare", "main"]

FILES = ("config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "training.json")
ANSWERED_FLOOR = 0.95


def _rate(row: list[int]) -> float:
    right, asked = row
    return right / asked if asked else 0.0


def compare(first: dict[str, list[int]], leg: dict[str, list[int]]) -> list[str]:
    """The rows where `leg` is worse than `first` (empty: it may be promoted)."""
    worse = []
    for name, row in first.items():
        if name not in leg:
            worse.append(f"{name}: not measured")
        elif name == "answered":
            if _rate(leg[name]) < ANSWERED_FLOOR:
                worse.append(f"{name}: {_rate(leg[name]):.0%} < {ANSWERED_FLOOR:.0%}")
        elif _rate(leg[name]) < _rate(row):
            worse.append(f"{name}: {leg[name][0]}/{leg[name][1]} < {row[0]}/{row[1]}")
    return worse


def _last_evaluation(leg: dict[str, Any]) -> dict[str, list[int]]:
    evaluations = leg.get("evaluations") or []
    if not evaluations:
        raise SystemExit(f"leg {leg.get('leg')} has no evaluation: run `python -m training.evaluate ... --record DIR` first")
    rows: dict[str, list[int]] = evaluations[-1]["rows"]
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.promote", description=__doc__.splitlines()[0])
    ap.add_argument("leg", type=Path, help="a leg's folder (training/legs/...)")
    ap.add_argument("--to", type=Path, default=EMBEDDED_DIR, help="where the shipped model lives (default: %(default)s)")
    args = ap.parse_args(argv)
    chain = json.loads((args.leg / "training.json").read_text())
    legs = chain["legs"]
    worse = compare(_last_evaluation(legs[0]), _last_evaluation(legs[-1]))
    if worse:
        print(f"{args.leg} is not promoted: worse than the first edition on " + "; ".join(worse), file=sys.stderr)
        return 1
    for name in FILES:
        shutil.copyfile(args.leg / name, args.to / name)
    print(f"promoted {args.leg} (leg {legs[-1]['leg']}) to {args.to}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
