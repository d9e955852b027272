"""Print `name==version` for every package sdq[worker] needs, as installed here, except torch and
what only torch needs (nvidia-*, triton): what `make gpu-bench-bundle` downloads as wheels."""

from __future__ import annotations

import re
from importlib import metadata

from packaging.requirements import Requirement

LEFT_OUT = re.compile(r"^(torch|triton|nvidia-.*)$")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(root: str, extras: set[str]) -> dict[str, str]:
    """Installed distributions reached from `root[extras]` through their requirements."""
    found: dict[str, str] = {}
    todo: list[tuple[str, set[str]]] = [(root, extras)]
    while todo:
        name, wanted = todo.pop()
        dist = metadata.distribution(name)
        found[canonical(name)] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            env = [{"extra": extra} for extra in wanted or {""}]
            if req.marker and not any(req.marker.evaluate(e) for e in env):
                continue
            key = canonical(req.name)
            if LEFT_OUT.match(key) or key in found:
                continue
            todo.append((req.name, set(req.extras)))
    return found


if __name__ == "__main__":
    pins = closure("sdq", {"worker"})
    pins.pop("sdq")  # built from this checkout
    print(" ".join(f"{name}=={version}" for name, version in sorted(pins.items())))
