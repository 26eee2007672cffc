"""The mathassist language server (pygls 2.x): inline derivation completions, a completion
fallback, and proof-step suggestions, with text from the shared model process."""

from __future__ import annotations

__all__: list[str] = []
