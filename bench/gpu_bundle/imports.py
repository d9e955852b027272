"""Run bench/gpu.py's CPU check (`--device cpu --tiny`, both mini families) and print, one a line,
the distributions whose modules it imported: what the benchmark needs on any machine."""

from __future__ import annotations

import contextlib
import sys
import tempfile
from importlib import metadata
from pathlib import Path


def distributions(modules: list[str]) -> set[str]:
    """The installed distributions that provide these modules' top-level packages."""
    owners = metadata.packages_distributions()
    return {dist for module in modules for dist in owners.get(module.partition(".")[0], [])}


def main() -> int:
    from bench import gpu  # after the measuring starts: everything it pulls in counts

    with tempfile.TemporaryDirectory() as work, contextlib.redirect_stdout(sys.stderr):
        argv = ["--device", "cpu", "--tiny", "--batches", "1", "--repeats", "1", "--no-compile"]
        gpu.main([*argv, "--models-dir", str(Path(work) / "models"), "--out", f"{work}/gpu"])
    print("\n".join(sorted(distributions(list(sys.modules)))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
