"""The editor settings: one validated value built from the client's JSON.

The language server receives them as `initializationOptions`, from `workspace/configuration`
(section `mathassist`) and with `workspace/didChangeConfiguration`; JupyterLab's settings editor
sends the same shape:

    {"inline": {"temperature": 0, "topK": 0, "topP": 1, "maxNewTokens": 48, "debounceMs": 150, "verify": "filter"},
     "proofSteps": {"temperature": 0.8, "topK": 0, "topP": 0.95, "maxNewTokens": 64, "candidates": 4},
     "checks": {"showVerified": false},
     "languages": {"latex": true, "markdown": true, "plaintext": true},
     "serverUrl": ""}

`inline.verify`: `filter` checks every suggestion with the derivation checker and never shows one it
refutes; `off` shows what the model writes. `checks.showVerified` marks verified steps (inlay hints).

An invalid value is reported with its full name (`mathassist.inline.temperature`) and range,
and the previous value is kept; the rest of the settings still apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mathcore.languages import Language
from mathcore.sampling import MAX_SAMPLES, PARAMS, InvalidParameter, SamplingParams

__all__ = ["EDITOR_PARAMS", "VERIFY_MODES", "Settings", "parse_settings"]

EDITOR_PARAMS = ("temperature", "top_k", "top_p", "max_new_tokens")  # the editor sets samples and seeds itself
_KEYS = {p.setting: p.name for p in PARAMS if p.name in EDITOR_PARAMS}
VERIFY_MODES = ("filter", "off")


@dataclass(frozen=True)
class Settings:
    """Everything the features read; defaults are what a new user gets."""

    inline: SamplingParams = SamplingParams(max_new_tokens=48)  # noqa: RUF009 - frozen, safe to share
    proof: SamplingParams = SamplingParams(temperature=0.8, top_p=0.95, max_new_tokens=64)  # noqa: RUF009
    candidates: int = 4
    debounce_ms: int = 150
    languages: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(Language, True))
    server_url: str = ""
    verify: str = "filter"
    show_verified: bool = False

    def enabled_for(self, language: str) -> bool:
        """Whether suggestions and checks are on for an editor's language id (off for languages mathassist does not read)."""
        known = Language.from_id(language)
        return known is not None and self.languages.get(known, True)


def _sampling(raw: Any, base: SamplingParams, section: str, errors: list[str]) -> SamplingParams:
    if not isinstance(raw, dict):
        if raw is not None:
            errors.append(f"mathassist.{section} must be an object")
        return base
    current = base
    for key, name in _KEYS.items():
        if raw.get(key) is None:
            continue
        try:
            current = SamplingParams.create(
                names={name: f"mathassist.{section}.{key}"},
                **{**_as_fields(current), name: raw[key]},
            )
        except InvalidParameter as exc:
            errors.append(str(exc))
    return current


def _as_fields(p: SamplingParams) -> dict[str, Any]:
    return {"temperature": p.temperature, "top_k": p.top_k, "top_p": p.top_p, "max_new_tokens": p.max_new_tokens}


def _int_in(raw: Any, name: str, low: int, high: int, default: int, errors: list[str]) -> int:
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, int | float) or int(raw) != raw or not low <= raw <= high:
        errors.append(f"{name} must be an integer from {low} to {high}, got {raw!r}")
        return default
    return int(raw)


def parse_settings(raw: Any, previous: Settings | None = None) -> tuple[Settings, list[str]]:
    """New settings over `previous`, and one message per invalid value (which keeps its old value)."""
    prev = previous or Settings()
    errors: list[str] = []
    if raw is None:
        return prev, errors
    if not isinstance(raw, dict):
        return prev, [f"mathassist settings must be an object, got {type(raw).__name__}"]
    if isinstance(raw.get("mathassist"), dict):
        raw = raw["mathassist"]
    inline_raw = raw.get("inline")
    proof_raw = raw.get("proofSteps")
    inline = _sampling(inline_raw, prev.inline, "inline", errors)
    proof = _sampling(proof_raw, prev.proof, "proofSteps", errors)
    candidates = _int_in((proof_raw or {}).get("candidates") if isinstance(proof_raw, dict) else None,
                         "mathassist.proofSteps.candidates", 1, MAX_SAMPLES, prev.candidates, errors)
    debounce = _int_in((inline_raw or {}).get("debounceMs") if isinstance(inline_raw, dict) else None,
                       "mathassist.inline.debounceMs", 0, 2000, prev.debounce_ms, errors)
    languages = dict(prev.languages)
    if isinstance(raw.get("languages"), dict):
        for key, value in raw["languages"].items():
            if key not in set(Language):
                errors.append(f"mathassist.languages.{key} is not a language mathassist knows; use latex, markdown or plaintext")
            elif not isinstance(value, bool):
                errors.append(f"mathassist.languages.{key} must be true or false, got {value!r}")
            else:
                languages[key] = value
    verify = (inline_raw or {}).get("verify", prev.verify) if isinstance(inline_raw, dict) else prev.verify
    if verify not in VERIFY_MODES:
        errors.append(f"mathassist.inline.verify must be one of {', '.join(VERIFY_MODES)}, got {verify!r}")
        verify = prev.verify
    checks_raw = raw.get("checks")
    show_verified = checks_raw.get("showVerified", prev.show_verified) if isinstance(checks_raw, dict) else prev.show_verified
    if not isinstance(show_verified, bool):
        errors.append(f"mathassist.checks.showVerified must be true or false, got {show_verified!r}")
        show_verified = prev.show_verified
    url = raw.get("serverUrl", prev.server_url)
    if not isinstance(url, str) or (url and not url.startswith(("http://", "https://"))):
        errors.append(f"mathassist.serverUrl must be empty or an http(s) URL, got {url!r}")
        url = prev.server_url
    return Settings(inline, proof, candidates, debounce, languages, url, verify, show_verified), errors
