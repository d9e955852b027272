"""`make gpu-bench-bundle`'s parts without the network: the pins come from a real CPU run of
bench/gpu.py (what it imports, against what the lent machine has) and carry what that machine
lacks but never what it has at a usable version; run.sh is valid bash."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^(?P<name>[a-z0-9-]+)==(?P<version>\S+)  # (?P<reason>.+)$")


def test_run_sh_is_valid_bash() -> None:
    subprocess.run(["bash", "-n", str(ROOT / "bench/gpu_bundle/run.sh")], check=True)


def test_the_pins_carry_what_the_device_lacks_and_nothing_it_has() -> None:
    command = [sys.executable, "-m", "bench.gpu_bundle.requirements", "--offline"]
    done = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
    pins = {}
    for line in done.stdout.splitlines():
        match = PIN.match(line)
        assert match, line
        pins[match["name"]] = match["reason"]
    lacking = {"diffusers", "pydantic", "pydantic-core", "pydantic-settings", "annotated-types"}
    lacking |= {"typing-inspection", "python-dotenv", "redis", "httpx2"}
    assert lacking <= pins.keys()
    assert all(pins[name] == "not on the device" for name in lacking)
    assert "sdq needs >=" in pins["huggingface-hub"]  # the device's 1.33 is below our floor
    kept = {"torch", "numpy", "scipy", "pillow", "safetensors", "accelerate", "requests", "sdq"}
    assert not kept & pins.keys()
    unused = {"celery", "fastapi", "boto3", "cryptography"}  # not imported, or imported if there
    assert not unused & pins.keys()
    assert "from the device: accelerate 1.15.0" in done.stderr
