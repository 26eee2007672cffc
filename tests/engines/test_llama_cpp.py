"""The same clients, unchanged, against a server we did not write: llama.cpp's OpenAI-compatible
server (llama-cpp-python) serving the embedded model converted to GGUF, reached through
MATHASSIST_URL + MATHASSIST_API_KEY (and the editor's serverUrl setting): the CLI, %%solve in a
real kernel, and the language server's inline completion and proof steps.

llama.cpp ignores `n`, applies sampler defaults of its own unless told otherwise, and has no
/health or /status; the client works around each and says what it does instead, once
(`model_server.client._compat`). These tests hold that to the real server: greedy text equal to
our own engine's on the same weights (its defaults were turned off), the samples asked for, one
note per session, never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from lsprotocol import types
from tokenizers import Tokenizer

from checker._answers import equal as answers_equal
from mathcore.prompts import continuation_prompt, solve_prompt
from mathcore.sampling import SamplingParams
from model_server.client import Client, Endpoint, external_endpoint
from scripts import llama_cpp_engine as engine
from tests.conftest import ROOT, RunningServer
from tests.engines.conftest import LlamaServer
from tests.ipython_ext.test_magic import Kernel, markdown_of, text_of, value
from tests.lsp_server.conftest import end_of, open_doc, start_lsp
from tests.lsp_server.test_lsp import ALIGN, DOC_TEX, PROOF, inline_params

pytestmark = pytest.mark.slow

LINEAR = "Solve for $x$: $3x + 5 = 20$."
NOTE = "llama-cpp-python's server at"


def solve(llama: LlamaServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mathassist", "solve", *args], env=llama.env(dict(os.environ)), cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_the_converted_tokenizer_splits_text_as_ours(llama_server: LlamaServer) -> None:
    ours = Tokenizer.from_file(str(engine.EMBEDDED / "tokenizer.json"))
    texts = [solve_prompt(LINEAR, "instruct").text, DOC_TEX, PROOF, "x^2 + 12345x - 0.75 = \\frac{3}{4},  x \\le 10^{-3}",
             "Ünïcödé ∑ ≤ 😀\n\n\ttabs  and   spaces", "I've 2 cats; they're 3.5 years old!!"]
    base = llama_server.url.removesuffix("/v1")
    for text in texts:
        r = httpx.post(f"{base}/extras/tokenize", json={"input": text}, timeout=30,
                       headers={"Authorization": f"Bearer {llama_server.api_key}"})
        assert r.json()["tokens"] == ours.encode(text).ids, text


def test_greedy_text_is_our_engines_token_for_token(llama_server: LlamaServer, server: RunningServer) -> None:
    """Same weights, same client, token for token: the conversion is right (tokenizer, weights,
    positions, BOS), and llama.cpp's own sampler defaults are off. With them on, the greedy answer
    to a question outside the model's templates changed (the first edition: `10x - 2` for `10x - 1`)."""
    prompts = [solve_prompt(LINEAR, "instruct"), solve_prompt("Expand $(x + 2)(x + 9)$.", "instruct"),
               solve_prompt("What is the capital of France?", "instruct"),
               continuation_prompt(ALIGN.split("\\begin{align*}\n")[1], (), "align*")]
    ours = Client(Endpoint(server.url, server.token, server.model, pid=server.pid))
    with ours, Client(external_endpoint(llama_server.url, llama_server.api_key)) as theirs:
        for prompt in prompts:
            params = SamplingParams(max_new_tokens=120, stop=prompt.stop)
            mine, other = ours.complete(prompt.text, params), theirs.complete(prompt.text, params)
            assert other.choices[0].text == mine.choices[0].text, prompt.text
        assert theirs.model() == engine.ALIAS and theirs.status() == {"url": theirs.endpoint.url, "model": engine.ALIAS}


def test_a_seed_reproduces_a_sample_and_seeds_differ(llama_server: LlamaServer) -> None:
    prompt = solve_prompt(LINEAR, "instruct")
    params = SamplingParams(temperature=2.0, max_new_tokens=40, stop=prompt.stop)  # hot enough that seeds differ
    with Client(external_endpoint(llama_server.url, llama_server.api_key)) as client:
        texts = [client.complete(prompt.text, params.replace(seed=seed)).choices[0].text for seed in (1, 1, 2, 3, 4)]
    assert texts[0] == texts[1] and texts[0].strip() and len(set(texts)) > 2


def test_cli_solve_streams_and_json_names_the_model(llama_server: LlamaServer) -> None:
    r = solve(llama_server, LINEAR)
    assert r.returncode == 0, r.stderr
    assert "\\boxed" in r.stdout and f"[{engine.ALIAS}]" in r.stdout.splitlines()[-1]
    assert "Traceback" not in r.stderr and "note:" not in r.stderr  # one sample: nothing to degrade
    j = solve(llama_server, "--json", LINEAR)
    out = json.loads(j.stdout)
    assert out["model"] == engine.ALIAS and out["notes"] == [] and out["text"].splitlines()[0] in r.stdout


def test_cli_four_samples_are_asked_one_at_a_time_with_one_note(llama_server: LlamaServer) -> None:
    # no seed, hot enough that samples differ: llama.cpp would give one sample four times
    r = solve(llama_server, "-s", "4", "-t", "2", "-n", "40", "--json", LINEAR)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert len(out["samples"]) == 4 and all(s.strip() for s in out["samples"]) and len(set(out["samples"])) > 1
    assert len(out["notes"]) == 1 and out["notes"][0].startswith(NOTE) and "one at a time" in out["notes"][0]
    text = solve(llama_server, "-s", "2", "-t", "0.8", LINEAR)
    assert text.returncode == 0 and "Traceback" not in text.stderr and "votes:" in text.stdout
    notes = [line for line in text.stderr.splitlines() if line.startswith("mathassist: note: ")]
    assert len(notes) == 1 and NOTE in notes[0]


def test_cli_tools_runs_against_it(llama_server: LlamaServer) -> None:
    r = solve(llama_server, "--tools", "--json", "Compute $12 \\cdot 34$ with a program.")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert "Traceback" not in r.stderr and out["model"] == engine.ALIAS
    for run in out["tool_runs"]:  # what the model wrote ran in the sandbox, on this side
        assert run["output"] or run["error"]


@pytest.fixture
def llama_kernel(llama_server: LlamaServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Kernel]:
    for key, val in llama_server.env({}).items():
        monkeypatch.setenv(key, val)
    k = Kernel()
    with k.client.setup_kernel():
        assert k.run("%load_ext mathassist") == []
        yield k


def test_magic_solves_and_notes_the_samples_once(llama_kernel: Kernel) -> None:
    md = markdown_of(llama_kernel.run(f"%%solve\n{LINEAR}"))
    assert "**Answer:**" in md and engine.ALIAS in md and "Note:" not in md
    md = markdown_of(llama_kernel.run(f"%%solve -s 3 -t 0.8 --seed 2\n{LINEAR}"))
    assert value(llama_kernel, "len(_.samples)") == 3 and md.count("*Note: ") == 1 and NOTE in md
    out = llama_kernel.run(f"%%solve -s 2 -t 0.8\n{LINEAR}")
    assert "Note:" not in markdown_of(out) and value(llama_kernel, "len(_.samples)") == 2  # said once per session
    assert not [o for o in out if o["output_type"] == "error"]
    assert engine.ALIAS in text_of(llama_kernel.run("%solve_status"))


async def _lsp(llama: LlamaServer, options: dict[str, Any]) -> Any:
    env = {k: v for k, v in os.environ.items() if k != "MATHASSIST_URL"}
    return await start_lsp({**env, "MATHASSIST_API_KEY": llama.api_key}, options)


async def test_inline_completion_through_the_server_url_setting(llama_server: LlamaServer) -> None:
    client = await _lsp(llama_server, {"serverUrl": llama_server.url, "inline": {"debounceMs": 0}})
    try:
        uri = "file:///work/expand.tex"
        open_doc(client, uri, DOC_TEX, "latex")
        result = await client.text_document_inline_completion_async(inline_params(uri, end_of(ALIGN)))
        assert result is not None
        items = result.items if isinstance(result, types.InlineCompletionList) else result
        text = items[0].insert_text
        assert isinstance(text, str) and "\n" not in text and answers_equal(text, "x^2 + 8x + 15"), text
        assert not [m for m in client.messages if m.type in (types.MessageType.Error, types.MessageType.Warning)]
    finally:
        await client.shutdown_session()


async def test_proof_steps_are_sampled_one_at_a_time_ranked_and_noted_once(llama_server: LlamaServer) -> None:
    client = await _lsp(llama_server, {"serverUrl": llama_server.url})
    try:
        uri = "file:///work/proof.tex"
        text = PROOF + "\n\\end{proof}\n"
        open_doc(client, uri, text, "latex")
        args = [uri, {"line": end_of(PROOF).line, "character": end_of(PROOF).character}]
        for _ in range(2):
            steps = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="mathassist.suggestProofSteps",
                                                                                              arguments=args))
            assert steps and len({s["text"] for s in steps}) == len(steps)
            assert all(s["logprob"] < 0 for s in steps)  # llama.cpp's token log-probabilities rank them
        notes = [m for m in client.messages if m.type == types.MessageType.Info and NOTE in m.message]
        assert len(notes) == 1 and "one at a time" in notes[0].message
    finally:
        await client.shutdown_session()
