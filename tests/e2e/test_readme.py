"""The README's "Try it" section as a newcomer runs it: its shell blocks, verbatim, against the
`sdq up` it starts; the response it shows has the shape the call really returns."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.embedded_redis import free_port
from tests.helpers import REPO, wait_until

PNG = b"\x89PNG\r\n\x1a\n"


def section(markdown: str, title: str) -> str:
    """The text under `## title`, up to the next `## ` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", markdown, re.M | re.S)
    assert match, f"no '## {title}' section"
    return match.group(1)


def fenced(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.M | re.S)


def json_documents(output: str) -> list[Any]:
    """Each JSON document that starts a line of `output` (what `python3 -m json.tool` prints)."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    index = 0
    while (start := output.find("{", index)) != -1:
        if start > 0 and output[start - 1] != "\n":
            index = start + 1
            continue
        document, index = decoder.raw_decode(output, start)
        found.append(document)
    return found


def kind(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return type(value).__name__
    return "number" if isinstance(value, int | float) else type(value).__name__


def differences(shown: Any, real: Any, where: str = "") -> list[str]:
    """Where `shown` (the README's, abridged) is not the shape of `real`: a key it has that the
    real one lacks, or a value of another kind. Keys it leaves out are no difference."""
    if isinstance(shown, dict) and isinstance(real, dict):
        return [
            problem
            for key, value in shown.items()
            for problem in (
                differences(value, real[key], f"{where}.{key}")
                if key in real
                else [f"{where}.{key}: not in the real response"]
            )
        ]
    if isinstance(shown, list) and isinstance(real, list):
        return [p for s, r in zip(shown, real, strict=False) for p in differences(s, r, where)]
    if kind(shown) != kind(real):
        return [f"{where}: {kind(shown)} shown, {kind(real)} returned"]
    return []


def test_try_it_blocks_name_sdq_up_then_examples() -> None:
    try_it = section((REPO / "README.md").read_text(), "Try it")
    start, _examples = fenced(try_it, "sh")
    assert [line.split("#")[0].strip() for line in start.strip().splitlines()] == [
        ".venv/bin/sdq up"
    ]
    assert len(fenced(try_it, "json")) == 1, "one response shown"


def test_the_first_code_block_is_the_quickstart() -> None:
    readme = (REPO / "README.md").read_text()
    first = re.search(r"^```\w*\n(.*?)^```", readme, re.M | re.S)
    assert first and "make demo" in first.group(1)
    assert readme.index("```") > readme.index("## Quickstart")


@pytest.mark.timeout(600)
def test_try_it_examples_run_verbatim_against_sdq_up(tmp_path: Path, tiny_model_dir: Path) -> None:
    try_it = section((REPO / "README.md").read_text(), "Try it")
    _start, examples = fenced(try_it, "sh")
    [shown] = fenced(try_it, "json")

    data_dir = tmp_path / "data"
    (data_dir / "models").mkdir(parents=True)
    os.symlink(tiny_model_dir, data_dir / "models" / "sdq-tiny")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDQ_")}
    env |= {"PYTHONUNBUFFERED": "1", "SDQ_TORCH_THREADS": "1"}
    # A newcomer's clone: `.venv/bin/sdq` is this environment's `sdq`.
    clone = tmp_path / "clone"
    clone.mkdir()
    (clone / ".venv").symlink_to(sys.prefix)
    assert (clone / ".venv" / "bin" / "sdq").exists()
    up_log = tmp_path / "up.log"
    argv = [sys.executable, "-m", "cli", "up", "--port", str(port), "--data-dir", str(data_dir)]
    with up_log.open("wb") as out:
        up = subprocess.Popen(
            argv, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:

        def ready() -> bool:
            assert up.poll() is None, up_log.read_text()
            try:
                return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(ready, 120, "sdq up to be ready")
        ran = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + examples],
            env=env | {"SDQ_URL": url},
            cwd=clone,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=480,
        )
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(timeout=60)
    said = f"stdout:\n{ran.stdout}\nstderr:\n{ran.stderr}\nsdq up:\n{up_log.read_text()[-3000:]}"
    assert ran.returncode == 0, said
    assert not re.search(r'"status":\s*404|HTTP 404', ran.stdout + ran.stderr), said
    assert (clone / "dog.png").read_bytes().startswith(PNG)

    responses = json_documents(ran.stdout)
    assert len(responses) == 2, said  # the `Prefer: wait` create, then the get by id
    waited, got = responses
    assert waited["status"] == "succeeded", waited
    assert got["id"] != waited["id"] and got["status"] in {"starting", "processing", "succeeded"}
    assert differences(json.loads(shown), waited) == [], "the README shows what the call returns"
    assert json.loads(shown)["status"] == waited["status"]
