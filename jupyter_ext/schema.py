"""The JupyterLab settings schema of the labextension, built from the one parameter table.

`jupyterlab-ext/schema/plugin.json` is this function's output (`scripts/build-labextension.sh`
writes it, and a test holds the committed file to it): the sampling settings come from
`mathcore.sampling.PARAMS` (their names, types, ranges and help), the defaults from
`assist.settings.Settings`, and the names are the VS Code extension's (`inline.temperature`,
`inline.debounceMs`, `inline.verify`, `serverUrl`), so one settings shape reaches the server from
every editor. Run as `python -m jupyter_ext.schema` it prints the schema.
"""

from __future__ import annotations

import json
from typing import Any

from assist.settings import EDITOR_PARAMS, VERIFY_MODES, Settings
from mathcore.sampling import PARAMS

__all__ = ["settings_schema"]


def _sampling_properties(defaults: Settings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in PARAMS:
        if p.name not in EDITOR_PARAMS:
            continue
        entry: dict[str, Any] = {"title": p.setting, "description": f"Ghost text: {p.help}.", "type": "integer" if p.integer else "number",
                                 "default": getattr(defaults.inline, p.name)}
        if p.minimum is not None:
            entry["exclusiveMinimum" if p.exclusive_minimum else "minimum"] = p.minimum
        if p.maximum is not None:
            entry["maximum"] = p.maximum
        out[p.setting] = entry
    return out


def settings_schema() -> dict[str, Any]:
    """The schema JupyterLab's settings editor shows for mathassist."""
    defaults = Settings()
    inline = {
        **_sampling_properties(defaults),
        "debounceMs": {"title": "debounceMs", "description": "Ghost text: wait this long after typing before asking the model (milliseconds).",
                       "type": "integer", "minimum": 0, "maximum": 2000, "default": defaults.debounce_ms},
        "verify": {"title": "verify", "description": "filter: check each suggestion with the derivation checker and never show one it "
                   "refutes; off: show what the model writes, unchecked.", "type": "string", "enum": list(VERIFY_MODES),
                   "default": defaults.verify},
    }
    return {
        "title": "mathassist",
        "description": "Ghost text and checked derivation steps in Markdown and %%solve cells, from the shared mathassist model process.",
        "jupyter.lab.setting-icon-label": "mathassist",
        "type": "object",
        "properties": {
            "enabled": {"title": "enabled", "description": "Ghost text and checks in notebooks.", "type": "boolean", "default": True},
            "inline": {"title": "Ghost text", "type": "object", "properties": inline, "additionalProperties": False,
                       "default": {key: entry["default"] for key, entry in inline.items()}},
            "serverUrl": {"title": "serverUrl", "description": "An OpenAI-compatible server (vLLM, TGI) to use instead of the shared "
                          "local model process; empty for the local one.", "type": "string", "default": defaults.server_url},
        },
        "additionalProperties": False,
    }


if __name__ == "__main__":
    print(json.dumps(settings_schema(), indent=2))
