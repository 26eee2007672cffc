"""llama.cpp's OpenAI-compatible server (llama-cpp-python) for the embedded model: install, convert, serve.

README promises that the same clients work against an OpenAI-compatible engine we did not write
(`MATHASSIST_URL`); llama.cpp is the one that builds and runs on a CPU, so `make test-engines`
tests the clients against it, and the README's recipe runs these same commands:

    python scripts/llama_cpp_engine.py install        # build llama-cpp-python once (niced) into .cache/engines
    python scripts/llama_cpp_engine.py convert [DIR]  # GGUF of a checkpoint (default: the embedded model); prints its path
    python scripts/llama_cpp_engine.py serve [--port N] [--api-key KEY]   # the server on 127.0.0.1, in the foreground

Everything lands in `.cache/engines/` (git-ignored): the source distribution (it carries the
converter, `vendor/llama.cpp/convert_hf_to_gguf.py`, and gguf-py), the wheel built from it (built
once; later runs reuse it), the server's own virtualenv (its FastAPI pins stay out of ours), and
one GGUF per checkpoint, keyed by the hash of the files that go into it, so a retrained
embedded model is converted again and an unchanged one is not.

The converter recognises a BPE tokenizer by the hash of how it splits a test string and refuses
ours ("BPE pre-tokenizer was not recognized"). Ours splits every digit, then applies GPT-2's
byte-level regex: exactly StarCoder's pre-tokenizer, which llama.cpp implements as `starcoder`
(`\\p{N}`, then the GPT-2 regex). The conversion maps ours to it only after checking that
tokenizer.json says exactly that; the engine test compares both tokenizers on real prompts.
It runs the converter in the calling interpreter (our .venv: torch, transformers, safetensors).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import runpy
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "engines"
VERSION = "0.3.36"  # llama-cpp-python; its sdist pins the llama.cpp it builds and the converter
SDIST = CACHE / f"llama_cpp_python-{VERSION}.tar.gz"
SOURCE = CACHE / f"llama_cpp_python-{VERSION}"  # the converter's part of the sdist, unpacked
WHEELS = CACHE / "wheels"
VENV = CACHE / "venv"
SERVER_PYTHON = VENV / "bin" / "python"
EMBEDDED = ROOT / "model_server" / "embedded"
ALIAS = "mathassist-embedded"  # the model id the server announces: `embedded` in it selects the chat prompt family
# mtmd (multimodal) is not needed for a text model; llama.cpp's tests, tools and examples are off
# already when it is built as a part (as here), and ggml is tuned to this machine's CPU (GGML_NATIVE)
CMAKE_ARGS = "-DLLAVA_BUILD=OFF"
# what the embedded model's tokenizer.json says, and the llama.cpp pre-tokenizer that does the same
STARCODER_PRE = {"type": "Sequence", "pretokenizers": [
    {"type": "Digits", "individual_digits": True},
    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
]}
CONVERTED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json")


def _run(cmd: list[str], **kw: Any) -> None:
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, **kw)


def _niced() -> list[str]:
    return ["nice", "-n", "5"] if shutil.which("nice") else []


def _wheel() -> Path | None:
    found = sorted(WHEELS.glob(f"llama_cpp_python-{VERSION}-*.whl"))
    return found[-1] if found else None


def install() -> Path:
    """The server's interpreter, with llama-cpp-python[server] installed from a wheel built once here."""
    CACHE.mkdir(parents=True, exist_ok=True)
    if not SDIST.exists():
        _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
              f"llama-cpp-python=={VERSION}", "-d", str(CACHE)])
    if not (SOURCE / "vendor" / "llama.cpp" / "convert_hf_to_gguf.py").exists():
        _unpack_converter()
    wheel = _wheel()
    if wheel is None:
        env = {**os.environ, "CMAKE_ARGS": CMAKE_ARGS, "CMAKE_BUILD_PARALLEL_LEVEL": str(os.cpu_count() or 2)}
        _run([*_niced(), sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(WHEELS), str(SDIST)], env=env)
        wheel = _wheel()
        assert wheel is not None, f"pip wheel left no llama_cpp_python-{VERSION} wheel in {WHEELS}"
    stamp = VENV / ".installed"
    if not stamp.exists() or stamp.read_text() != wheel.name:
        if not SERVER_PYTHON.exists():
            _run([sys.executable, "-m", "venv", str(VENV)])
        _run([str(SERVER_PYTHON), "-m", "pip", "install", "-q", f"{wheel}[server]"])
        stamp.write_text(wheel.name)
    return SERVER_PYTHON


def _unpack_converter() -> None:
    """Only the converter's files (the C++ sources stay in the tarball: pip builds from it)."""
    prefix = f"llama_cpp_python-{VERSION}/vendor/llama.cpp/"
    wanted = (prefix + "convert_hf_to_gguf.py", prefix + "conversion/", prefix + "gguf-py/", prefix + "LICENSE")
    with tarfile.open(SDIST) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(wanted)]
        tar.extractall(CACHE, members=members, filter="data")


def weights_key(model_dir: Path) -> str:
    """A hash of what goes into the GGUF (weights, config, tokenizer) and of the converter's version."""
    h = hashlib.sha256(VERSION.encode())
    for name in CONVERTED_FILES:
        path = model_dir / name
        if path.exists():
            h.update(name.encode())
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()[:16]


def gguf_path(model_dir: Path = EMBEDDED) -> Path:
    """Where the GGUF of this checkpoint, as its files are now, is (or will be) cached."""
    return CACHE / "gguf" / weights_key(model_dir) / f"{ALIAS}.gguf"


def convert(model_dir: Path = EMBEDDED) -> Path:
    """The GGUF (float32: the weights exactly, whatever dtype they were saved in) of `model_dir`."""
    out = gguf_path(model_dir)
    if out.exists():
        return out
    tokenizer = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    if tokenizer.get("pre_tokenizer") != STARCODER_PRE:
        raise SystemExit(f"{model_dir}/tokenizer.json has another pre-tokenizer than the embedded model's "
                         f"({tokenizer.get('pre_tokenizer')}); map it to a llama.cpp one in {__file__}")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".partial")
    code = subprocess.run([sys.executable, __file__, "_convert", str(model_dir), str(partial)]).returncode
    if code != 0:
        raise SystemExit(f"the conversion of {model_dir} failed (status {code}); see above")
    partial.rename(out)
    return out


def _convert_here(model_dir: str, out: str) -> None:
    """Run llama.cpp's converter in this process, with our tokenizer mapped to `starcoder`."""
    converter = SOURCE / "vendor" / "llama.cpp"
    sys.path[:0] = [str(converter / "gguf-py"), str(converter)]
    from conversion.base import TextModel  # type: ignore[import-not-found]
    from conversion.llama import LlamaModel  # type: ignore[import-not-found]

    TextModel.get_vocab_base_pre = lambda self, tokenizer: "starcoder"
    # byte-level BPE as Llama 3's (the default first tries SentencePiece, whose import fails without it)
    LlamaModel.set_vocab = lambda self: self._set_vocab_gpt2()
    sys.argv = [str(converter / "convert_hf_to_gguf.py"), model_dir, "--outfile", out, "--outtype", "f32"]
    runpy.run_path(sys.argv[0], run_name="__main__")


def serve_command(gguf: Path, port: int, api_key: str | None = None, python: Path = SERVER_PYTHON) -> list[str]:
    """llama-cpp-python's server for `gguf` on 127.0.0.1 only, as the README and the engine test run it.

    The context is the model's 4,096 (the server's default is 2,048); requests queue instead of
    interrupting the one in flight (`interrupt_requests`, on by default, would cut another
    client's stream short); one thread per core, as llama.cpp does by default.
    """
    cmd = [str(python), "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", ALIAS,
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--interrupt_requests", "False"]
    return [*cmd, "--api_key", api_key] if api_key else cmd


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="llama_cpp_engine.py", description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="build llama-cpp-python once into .cache/engines and install it in its own virtualenv")
    c = sub.add_parser("convert", help="convert a checkpoint to GGUF (cached by its hash); prints the path")
    c.add_argument("model_dir", nargs="?", type=Path, default=EMBEDDED)
    s = sub.add_parser("serve", help="install, convert and run the server on 127.0.0.1 in the foreground")
    s.add_argument("model_dir", nargs="?", type=Path, default=EMBEDDED)
    s.add_argument("--port", type=int, default=8081)
    s.add_argument("--api-key", default=None)
    i = sub.add_parser("_convert")  # the converter's own process (it changes sys.path and sys.argv)
    i.add_argument("model_dir")
    i.add_argument("out")
    args = p.parse_args(argv)
    if args.command == "install":
        print(install())
    elif args.command == "convert":
        install()
        print(convert(args.model_dir.resolve()))
    elif args.command == "_convert":
        _convert_here(args.model_dir, args.out)
    else:
        python = install()
        cmd = serve_command(convert(args.model_dir.resolve()), args.port, args.api_key, python)
        print("+", " ".join(cmd), file=sys.stderr, flush=True)
        os.execv(cmd[0], cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
