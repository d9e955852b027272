"""The GPU bundle carries exactly what the benchmark imports and the lent machine cannot give it:
a package missing there, one whose known version a requirement rules out (and whatever there caps
a carried wheel), and one of an unread version below a carried wheel's floor that nothing there
vouches for; never our own distribution, which the bundle builds from the checkout."""

from __future__ import annotations

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from bench.gpu_bundle.selection import Dist, floor, select


def dist(spec: str, *requires: str) -> Dist:
    name, version = spec.split("==")
    return Dist(name, version, tuple(Requirement(line) for line in requires))


def here(*dists: Dist) -> dict[str, Dist]:
    return {d.name: d for d in dists}


SDQ = dist("sdq==0.1.0")
DIFFUSERS = dist("diffusers==0.42.1", "huggingface-hub>=1.32", "numpy")
PYDANTIC = dist("pydantic==2.14.4", "typing-extensions>=4.16.0")
HUB = dist("huggingface-hub==2.4.0", "httpx2>=2", "packaging>=20.9")
NUMPY = dist("numpy==2.4.6")

Device = dict[str, str | None]
Case = tuple[str, dict[str, Dist], Device, dict[str, Dist], list[str], dict[str, str]]

SELECTIONS: list[Case] = [
    # (name, imported here, the device's packages, their known versions' requirements,
    #  our own requirements, expected picks: name -> version)
    (
        "a package the device lacks is carried at the tested version",
        here(SDQ, DIFFUSERS, NUMPY, dist("huggingface-hub==1.33.0")),
        {"numpy": "2.5.2", "huggingface-hub": "1.33.0"},
        {},
        [],
        {"diffusers": "0.42.1"},
    ),
    (
        "our own distribution is never picked: the bundle builds it",
        here(SDQ),
        {},
        {},
        [],
        {},
    ),
    (
        "a known version that meets every requirement stays the device's",
        here(SDQ, NUMPY),
        {"numpy": "2.5.2"},
        {},
        ["numpy>=1.26"],
        {},
    ),
    (
        "a known version our requirements rule out is carried",
        here(SDQ, dist("huggingface-hub==2.4.0", "httpx2>=2"), dist("httpx2==2.16.2")),
        {"huggingface-hub": "1.33.0"},
        {},
        ["huggingface-hub>=2.4"],
        {"huggingface-hub": "2.4.0", "httpx2": "2.16.2"},
    ),
    (
        "a device package that caps a carried wheel is carried too, and so on",
        here(
            SDQ,
            dist("huggingface-hub==2.4.0"),
            dist("transformers==5.24.0", "huggingface-hub<3", "tokenizers>=0.23.1"),
            dist("tokenizers==0.23.3", "huggingface-hub<3"),
        ),
        {"huggingface-hub": "1.33.0", "transformers": "5.17.0", "tokenizers": "0.23.2"},
        here(
            dist("huggingface-hub==1.33.0"),
            dist("transformers==5.17.0", "huggingface-hub<2.0,>=1.5", "tokenizers>=0.23.1"),
            dist("tokenizers==0.23.2", "huggingface-hub<2.0"),
        ),
        ["huggingface-hub>=2.4"],
        {"huggingface-hub": "2.4.0", "transformers": "5.24.0", "tokenizers": "0.23.3"},
    ),
    (
        "a device package whose cap the carried wheel meets stays",
        here(SDQ, dist("huggingface-hub==2.4.0"), dist("tokenizers==0.23.3")),
        {"huggingface-hub": "1.33.0", "tokenizers": "0.23.2"},
        here(dist("tokenizers==0.23.2", "huggingface-hub<3.0")),
        ["huggingface-hub>=2.4"],
        {"huggingface-hub": "2.4.0"},
    ),
    (
        "an unread version below a carried wheel's floor is carried",
        here(SDQ, PYDANTIC, dist("typing-extensions==4.16.0")),
        {"typing-extensions": None},
        {},
        [],
        {"pydantic": "2.14.4", "typing-extensions": "4.16.0"},
    ),
    (
        "an unread version is kept when a known device package requires that floor or higher",
        here(SDQ, HUB, dist("httpx2==2.16.2"), dist("packaging==26.3")),
        {"packaging": None, "transformers": "5.17.0"},
        here(dist("transformers==5.17.0", "packaging>=20.9")),
        [],
        {"huggingface-hub": "2.4.0", "httpx2": "2.16.2"},
    ),
    (
        "an unread version is carried when the device vouches only for a lower floor",
        here(SDQ, PYDANTIC, dist("typing-extensions==4.16.0")),
        {"typing-extensions": None, "huggingface-hub": "1.33.0"},
        here(dist("huggingface-hub==1.33.0", "typing-extensions>=4.1.0")),
        [],
        {"pydantic": "2.14.4", "typing-extensions": "4.16.0"},
    ),
    (
        "an unread version with no floor asked of it stays",
        here(SDQ, DIFFUSERS, NUMPY, dist("huggingface-hub==2.4.0")),
        {"numpy": None, "huggingface-hub": None},
        {},
        [],
        {"diffusers": "0.42.1", "huggingface-hub": "2.4.0"},
    ),
    (
        "a requirement on something the benchmark does not import changes nothing",
        here(SDQ, NUMPY),
        {"numpy": "2.5.2"},
        {},
        ["scipy>=99", "torch>=99"],
        {},
    ),
]


@pytest.mark.parametrize(
    ("imported", "device", "device_dists", "root", "expected"),
    [case[1:] for case in SELECTIONS],
    ids=[case[0] for case in SELECTIONS],
)
def test_selection(
    imported: dict[str, Dist],
    device: dict[str, str | None],
    device_dists: dict[str, Dist],
    root: list[str],
    expected: dict[str, str],
) -> None:
    picks = select(imported, device, device_dists, [Requirement(line) for line in root])
    assert {pick.name: pick.version for pick in picks} == expected
    assert [pick.name for pick in picks] == sorted(expected)
    assert all(pick.reason for pick in picks)


def test_each_pick_says_why() -> None:
    imported = here(
        SDQ,
        DIFFUSERS,
        dist("huggingface-hub==2.4.0"),
        dist("transformers==5.24.0"),
        PYDANTIC,
        dist("typing-extensions==4.16.0"),
    )
    device: dict[str, str | None] = {
        "huggingface-hub": "1.33.0",
        "transformers": "5.17.0",
        "typing-extensions": None,
    }
    device_dists = here(dist("transformers==5.17.0", "huggingface-hub<2.0"))
    picks = select(imported, device, device_dists, [Requirement("huggingface-hub>=2.4")])
    assert {pick.name: pick.reason for pick in picks} == {
        "diffusers": "not on the device",
        "huggingface-hub": "the device has 1.33.0; sdq needs >=2.4",
        "pydantic": "not on the device",
        "transformers": "the device's 5.17.0 needs huggingface-hub<2.0, carried at 2.4.0",
        "typing-extensions": "the device's version is unread; pydantic needs >=4.16.0",
    }


FLOORS = [
    (">=4.16.0", "4.16.0"),
    ("<2.0,>=1.5.0", "1.5.0"),
    ("==2.16.2", "2.16.2"),
    ("~=1.2", "1.2"),
    (">=1,>=3", "3"),
    ("<3", None),
    ("!=2019.12.17", None),
    ("", None),
]


@pytest.mark.parametrize(("specifier", "expected"), FLOORS)
def test_floor_is_the_highest_lower_bound(specifier: str, expected: str | None) -> None:
    found = floor(SpecifierSet(specifier))
    assert (None if found is None else str(found)) == expected
