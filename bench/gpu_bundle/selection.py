"""Which distributions the GPU bundle carries: each one bench/gpu.py imports that the device lacks,
has at a version some requirement rules out, or has at an unread version below a carried wheel's
floor. Pure: the imports, the requirements and the device's packages are passed in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = "sdq"  # the requirements our own code declares (pyproject's sdq[worker])
FLOOR_OPERATORS = frozenset({">=", ">", "==", "~="})


@dataclass(frozen=True)
class Dist:
    """One version of a distribution and its requirements (markers already applied)."""

    name: str
    version: str
    requires: tuple[Requirement, ...] = ()


@dataclass(frozen=True)
class Pick:
    """A wheel the bundle carries, at the version tested here, and why."""

    name: str
    version: str
    reason: str


@dataclass(frozen=True)
class Need:
    """`source` needs `requirement` (on the distribution `target`)."""

    target: str
    specifier: SpecifierSet
    source: str


def needs(sources: Iterable[tuple[str, Sequence[Requirement]]]) -> list[Need]:
    return [
        Need(canonicalize_name(req.name), req.specifier, source)
        for source, requires in sources
        for req in requires
    ]


def floor(specifier: SpecifierSet) -> Version | None:
    """The lowest version `specifier` allows, from its lower bounds; None when it has none."""
    bounds = [Version(s.version) for s in specifier if s.operator in FLOOR_OPERATORS]
    return max(bounds) if bounds else None


def vouched(need: Need, device_needs: Sequence[Need]) -> bool:
    """Whether the device's unread version of `need.target` surely meets `need`'s floor: it has
    none, or a package the device has at a known version requires at least that floor. Upper
    bounds and exclusions are not checked against unread versions."""
    mine = floor(need.specifier)
    if mine is None:
        return True
    return any(
        theirs.target == need.target
        and (other := floor(theirs.specifier)) is not None
        and other >= mine
        for theirs in device_needs
    )


def select(
    imported: Mapping[str, Dist],
    device: Mapping[str, str | None],
    device_dists: Mapping[str, Dist],
    root: Sequence[Requirement],
) -> list[Pick]:
    """The wheels to carry, each at its `imported` version, sorted by name.

    `imported`: what the benchmark imports (within our requirements' closure) as tested here.
    `device`: the device's packages, with their versions where known. `device_dists`: the
    requirements of the device's known versions (what pip shows for them; may be partial).
    `root`: our own requirements. Repeats until nothing changes: carrying one wheel can rule out a
    device package that caps it (transformers capping huggingface-hub, say)."""
    picks: dict[str, str] = {
        name: "not on the device" for name in imported if name not in device and name != ROOT
    }
    while True:
        carried = [(name, imported[name].requires) for name in picks]
        staying = [
            (name, device_dists[name].requires)
            for name in imported
            if name not in picks and name in device_dists
        ]
        device_needs = needs((name, dist.requires) for name, dist in device_dists.items())
        new = _ruled_out(imported, device, picks, needs([(ROOT, root), *carried, *staying]))
        new |= _unvouched(imported, device, picks, needs(carried), device_needs)
        if not new.keys() - picks.keys():
            break
        picks |= {name: why for name, why in new.items() if name not in picks}
    return [Pick(name, imported[name].version, picks[name]) for name in sorted(picks)]


def _ruled_out(
    imported: Mapping[str, Dist],
    device: Mapping[str, str | None],
    picks: Mapping[str, str],
    all_needs: Sequence[Need],
) -> dict[str, str]:
    """Device packages whose known version a requirement excludes, and device packages that
    exclude a carried version: each is carried too."""
    found: dict[str, str] = {}
    for need in all_needs:
        if need.target not in imported:
            continue
        if need.target in picks:
            version = imported[need.target].version
            source = need.source
            if source in device and source not in picks and version not in need.specifier:
                theirs = device[source] or "version"
                wanted = f"{need.target}{need.specifier}"
                found[source] = f"the device's {theirs} needs {wanted}, carried at {version}"
            continue
        known = device.get(need.target)
        if known is not None and not need.specifier.contains(known, prereleases=True):
            found[need.target] = f"the device has {known}; {need.source} needs {need.specifier}"
    return found


def _unvouched(
    imported: Mapping[str, Dist],
    device: Mapping[str, str | None],
    picks: Mapping[str, str],
    carried_needs: Sequence[Need],
    device_needs: Sequence[Need],
) -> dict[str, str]:
    """Device packages of an unread version that a carried wheel needs at a floor nothing on the
    device vouches for: carried at the tested version rather than hoped for."""
    found: dict[str, str] = {}
    for need in carried_needs:
        target = need.target
        unread = target in device and device[target] is None
        if (
            target in imported
            and target not in picks
            and unread
            and not vouched(need, device_needs)
        ):
            found[target] = f"the device's version is unread; {need.source} needs {need.specifier}"
    return found
