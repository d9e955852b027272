"""`sdq submit` and `sdq scaling` as a user runs them: a real `python -m cli` process against a
real API and worker over loopback HTTP, its stdout and stderr read apart."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from cli.embedded_redis import free_port
from tests.helpers import REPO, Stack

SMALL = ["--width", "64", "--height", "64", "--steps", "3"]


def sdq(stack: Stack, *args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m cli ARGS` with SDQ_URL pointing at the stack; stdout and stderr are pipes, so
    the command sees no terminal."""
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=stack.env | {"SDQ_URL": url or stack.url, "COLUMNS": "100"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def sdq_on_a_terminal(stack: Stack, *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `python -m cli ARGS` whose stderr is a pseudo-terminal."""
    main, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", *args],
        env=stack.env | {"SDQ_URL": stack.url, "COLUMNS": "100", "TERM": "xterm"},
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=secondary,
    )
    os.close(secondary)
    terminal = bytearray()
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # EIO: the command closed the terminal
            break
        if not chunk:
            break
        terminal += chunk
    os.close(main)
    assert process.stdout is not None
    stdout = process.stdout.read().decode()
    process.stdout.close()
    return process.wait(timeout=60), stdout, terminal.decode(errors="replace")


def test_submit_shows_step_lines_off_a_terminal_and_says_what_it_wrote(
    stack: Stack, tmp_path: Path
) -> None:
    out = tmp_path / "dog.png"
    result = sdq(stack, "submit", "a pretty dog", *SMALL, "--num-outputs", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"wrote {out}\nwrote {tmp_path / 'dog-1.png'}\n"
    for step in ("step 1/3", "step 2/3", "step 3/3"):
        assert result.stderr.count(step) == 1, result.stderr
    assert "\x1b[" not in result.stderr, "no terminal: no escape codes"
    assert str(out) not in result.stderr, "each written path is printed once"
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "dog-1.png").read_bytes()[:4] == b"\x89PNG"


def test_submit_on_a_terminal_draws_a_progress_bar(stack: Stack, tmp_path: Path) -> None:
    out = tmp_path / "bar.png"
    code, stdout, terminal = sdq_on_a_terminal(stack, "submit", "x", *SMALL, "--out", str(out))
    assert code == 0, terminal
    assert "3/3" in terminal and "━" in terminal, terminal
    assert "step 1/3" not in terminal
    assert stdout == f"wrote {out}\n"


@pytest.mark.parametrize("flag", ["--no-progress", "--stream"])
def test_progress_can_be_turned_off_and_stream_is_still_accepted(
    stack: Stack, tmp_path: Path, flag: str
) -> None:
    out = tmp_path / "dog.png"
    result = sdq(stack, "submit", "x", *SMALL, "--out", str(out), flag)
    assert result.returncode == 0, result.stderr
    assert ("step 1/3" in result.stderr) is (flag == "--stream")
    assert result.stdout == f"wrote {out}\n"


def test_no_wait_prints_the_id_once(stack: Stack) -> None:
    result = sdq(stack, "submit", "x", *SMALL, "--no-wait")
    assert result.returncode == 0, result.stderr
    prediction_id = result.stdout.strip()
    assert len(prediction_id) == 26
    assert prediction_id not in result.stderr


def test_a_refused_input_is_printed_once(stack: Stack) -> None:
    result = sdq(stack, "submit", "x", "--width", "7")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("must be between 64 and 2048") == 1, result.stderr
    assert "width" in result.stderr and "422" in result.stderr


def test_a_refused_policy_change_is_printed_once_on_stderr(stack: Stack) -> None:
    result = sdq(stack, "scaling", "set", "sdq/tiny", "max_replicas=-1")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("max_replicas") == 1, result.stderr


def test_a_message_with_brackets_is_printed_as_is(stack: Stack) -> None:
    result = sdq(stack, "submit", "x", "--model", "nope/[bold]x")
    assert result.returncode == 2
    assert "nope/[bold]x" in result.stderr, result.stderr


@pytest.mark.parametrize("args", [["submit", "x"], ["scaling", "show", "sdq/tiny"]])
def test_an_unreachable_server_is_one_line_without_a_traceback(
    stack: Stack, args: list[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = sdq(stack, *args, url=url)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.count(url) == 1 and len(result.stderr.strip().splitlines()) == 1
