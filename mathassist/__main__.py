"""`python -m mathassist` (how clients spawn the model process with the same interpreter)."""

from __future__ import annotations

import sys

from mathassist.cli import main

if __name__ == "__main__":
    sys.exit(main())
