"""The language server's settings, parsed without a server; and the VS Code manifest held to them."""

from __future__ import annotations

import json

from assist.settings import EDITOR_PARAMS, VERIFY_MODES, Settings, parse_settings
from mathcore.sampling import PARAMS
from model_server import __version__
from tests.conftest import ROOT


def test_valid_settings_apply_and_bad_ones_keep_the_old_value_and_say_why() -> None:
    settings, errors = parse_settings({"mathassist": {
        "inline": {"temperature": 0.4, "topK": 5, "debounceMs": 20, "topP": 0},
        "proofSteps": {"candidates": 99, "maxNewTokens": 32},
        "languages": {"markdown": False, "rust": True},
        "serverUrl": "ftp://x",
    }})
    assert (settings.inline.temperature, settings.inline.top_k, settings.inline.top_p, settings.debounce_ms) == (0.4, 5, 1.0, 20)
    assert settings.proof.max_new_tokens == 32 and settings.candidates == Settings().candidates
    assert not settings.enabled_for("markdown") and settings.enabled_for("latex")
    assert settings.server_url == ""
    assert any("mathassist.inline.topP must be in (0, 1]" in e for e in errors)
    assert any("mathassist.proofSteps.candidates" in e for e in errors)
    assert any("mathassist.languages.rust" in e for e in errors)
    assert any("mathassist.serverUrl" in e for e in errors)


def test_settings_that_are_not_an_object_change_nothing() -> None:
    previous, _ = parse_settings({"inline": {"temperature": 1.0}})
    settings, errors = parse_settings("nonsense", previous)
    assert settings == previous and errors


def test_vscode_manifest_agrees_with_the_sampling_table_and_the_defaults() -> None:
    manifest = json.loads((ROOT / "vscode-client" / "package.json").read_text())
    props = manifest["contributes"]["configuration"]["properties"]
    defaults = {"inline": Settings().inline, "proofSteps": Settings().proof}
    for section, sampling in defaults.items():
        for p in PARAMS:
            if p.name not in EDITOR_PARAMS:
                continue
            entry = props[f"mathassist.{section}.{p.setting}"]
            assert entry["type"] == ("integer" if p.integer else "number"), p.name
            assert entry["default"] == getattr(sampling, p.name), (section, p.name)
            bound = "exclusiveMinimum" if p.exclusive_minimum else "minimum"
            assert entry.get(bound) == p.minimum and entry.get("maximum") == p.maximum, (section, p.name)
    assert props["mathassist.inline.debounceMs"]["default"] == Settings().debounce_ms
    assert props["mathassist.proofSteps.candidates"]["default"] == Settings().candidates
    assert manifest["version"] == __version__, "one version: pyproject.toml's"


def test_checking_settings_are_validated_and_the_manifest_forwards_them() -> None:
    settings, errors = parse_settings({"inline": {"verify": "off"}, "checks": {"showVerified": True}})
    assert (settings.verify, settings.show_verified, errors) == ("off", True, [])
    kept, errors = parse_settings({"inline": {"verify": "maybe"}, "checks": {"showVerified": "yes"}}, settings)
    assert (kept.verify, kept.show_verified) == ("off", True)
    assert errors == ["mathassist.inline.verify must be one of filter, off, got 'maybe'",
                      "mathassist.checks.showVerified must be true or false, got 'yes'"]
    props = json.loads((ROOT / "vscode-client" / "package.json").read_text())["contributes"]["configuration"]["properties"]
    assert props["mathassist.inline.verify"]["default"] == Settings().verify
    assert props["mathassist.inline.verify"]["enum"] == list(VERIFY_MODES)
    assert props["mathassist.checks.showVerified"]["default"] == Settings().show_verified
    forwarded = (ROOT / "vscode-client" / "src" / "settings.ts").read_text()
    for key in props:
        if key not in ("mathassist.executable", "mathassist.pythonPath"):
            assert f"'{key.removeprefix('mathassist.')}'" in forwarded, f"{key} is not sent to the server (SERVER_KEYS)"
