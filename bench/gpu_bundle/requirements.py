"""Print the GPU bundle's pins, `name==version  # why`: the distributions bench/gpu.py imports
(imports.py) within sdq[worker]'s requirements, selected (selection.py) against what the device
has (device.py); what `make gpu-bench-bundle` downloads as wheels. sdq itself is built apart."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterable, Sequence
from importlib import metadata

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bench.gpu_bundle import device
from bench.gpu_bundle.selection import ROOT, Dist, select

ROOT_EXTRAS = frozenset({"worker"})
# The device's own CUDA build of torch and what only it needs: never carried, never followed.
TORCH_STACK = ("torch", "triton", "nvidia-")
# pip's options for wheels that install on the device (device tool's README).
DEVICE_WHEELS = [
    "--only-binary=:all:",
    "--python-version",
    device.PYTHON_VERSION.rpartition(".")[0],
    "--implementation",
    "cp",
    *("--platform", "manylinux_2_28_x86_64"),
    *("--platform", "manylinux_2_17_x86_64"),
    *("--platform", "manylinux2014_x86_64"),
]


def applies(marker: Marker | None, extras: Iterable[str] = ()) -> bool:
    """Whether a requirement with this marker holds on the device, for these extras."""
    if marker is None:
        return True
    return any(marker.evaluate(device.MARKER_ENV | {"extra": e}) for e in ("", *extras))


def requirements(lines: Iterable[str], extras: Iterable[str] = ()) -> tuple[Requirement, ...]:
    found = (Requirement(line) for line in lines)
    return tuple(req for req in found if applies(req.marker, extras))


def torch_stack(name: str) -> bool:
    return name.startswith(TORCH_STACK[2]) or name in TORCH_STACK[:2]


def local(name: str, extras: Iterable[str] = ()) -> Dist:
    """A distribution as installed here, with the requirements that hold on the device."""
    dist = metadata.distribution(name)
    return Dist(canonicalize_name(name), dist.version, requirements(dist.requires or [], extras))


def closure(root: str, extras: Iterable[str]) -> set[str]:
    """Installed distributions reached from `root[extras]` through their requirements on the
    device, except the torch stack."""
    found: set[str] = set()
    todo: list[tuple[str, tuple[str, ...]]] = [(root, tuple(extras))]
    while todo:
        name, wanted = todo.pop()
        found.add(canonicalize_name(name))
        for req in local(name, wanted).requires:
            key = canonicalize_name(req.name)
            if not torch_stack(key) and key not in found:
                todo.append((req.name, tuple(req.extras)))
    return found


def imported() -> set[str]:
    """What bench/gpu.py's CPU check imports, run in a fresh interpreter (imports.py)."""
    command = [sys.executable, "-m", "bench.gpu_bundle.imports"]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return {canonicalize_name(line) for line in out.split()}


def device_dists(names: Iterable[str]) -> dict[str, Dist]:
    """The requirements of the device's packages at their known versions, as pip reports them
    (metadata only: `pip install --dry-run --report`, nothing installed)."""
    pins = [f"{name}=={device.VERSIONS[name]}" for name in sorted(names)]
    if not pins:
        return {}
    command = [sys.executable, "-m", "pip", "install", "-q", "--dry-run", "--no-deps"]
    command += ["--ignore-installed", *DEVICE_WHEELS, "--report", "-", *pins]
    report = json.loads(subprocess.run(command, check=True, capture_output=True).stdout)
    found: dict[str, Dist] = {}
    for item in report["install"]:
        meta = item["metadata"]
        name = canonicalize_name(meta["name"])
        found[name] = Dist(name, meta["version"], requirements(meta.get("requires_dist", [])))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--offline",
        action="store_true",
        help="skip asking pip for the device's known versions' requirements (less precise)",
    )
    args = parser.parse_args(argv)
    reachable = closure(ROOT, ROOT_EXTRAS)
    needed = {name: local(name) for name in imported() & reachable}
    present = device.installed()
    known = [name for name in needed if present.get(name) and not torch_stack(name)]
    picks = select(
        needed,
        present,
        {} if args.offline else device_dists(known),
        local(ROOT, ROOT_EXTRAS).requires,
    )
    carried = {pick.name for pick in picks}
    kept = [
        f"{name} {present[name] or '(unread)'}" for name in sorted(needed.keys() - carried - {ROOT})
    ]
    print("from the device: " + ", ".join(kept), file=sys.stderr)
    for pick in picks:
        print(f"{pick.name}=={pick.version}  # {pick.reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
