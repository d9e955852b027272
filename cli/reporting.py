"""How a client command reports failure: one unwrapped line on stderr, printed as is (no rich
markup), then exit 2 when sdq refused the request, 1 when it could not be reached."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import NoReturn

import httpx
import typer
from rich.console import Console

from cli.api_key import API_KEY_VARIABLES
from cli.client import ApiProblem

KEY_HINT = "; sdq commands send the key set in {} (else {})".format(*API_KEY_VARIABLES)

errors = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int) -> NoReturn:
    errors.print(message, style="red", markup=False, highlight=False)
    raise typer.Exit(code)


@contextlib.contextmanager
def reported(url: str) -> Iterator[None]:
    """Turn a refused request or an unreachable server into that one line and exit code."""
    try:
        yield
    except ApiProblem as problem:
        fail(f"{problem}{KEY_HINT if problem.status == 401 else ''}", 2)
    except httpx.TransportError as error:
        fail(f"cannot reach sdq at {url}: {error or type(error).__name__}", 1)
