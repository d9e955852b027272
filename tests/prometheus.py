"""A real Prometheus server on loopback for tests: one scrape job, PromQL over its HTTP API."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from cli.embedded_redis import free_port
from tests.helpers import wait_until

# Debian's package (the Makefile installs it for `make test` and `make e2e`).
BINARY = "/usr/bin/prometheus"
SCRAPE_INTERVAL = "1s"
# A query Prometheus refuses to parse answers 400 with this errorType.
BAD_DATA = "bad_data"

Result = list[dict[str, Any]]


class QueryFailed(Exception):
    """Prometheus answered a query with an error (errorType and error in the message)."""

    def __init__(self, error_type: str, error: str) -> None:
        super().__init__(f"{error_type}: {error}")
        self.error_type = error_type
        self.error = error


def binary() -> str:
    """The prometheus binary: Debian's, else one on PATH."""
    found = BINARY if Path(BINARY).exists() else shutil.which("prometheus")
    if found is None:
        raise RuntimeError("no prometheus: `make e2e` installs Debian's package")
    return found


def loopback_target(url: str) -> tuple[str, str, str]:
    """(scheme, host:port, path) of a scrape target URL, refused unless it is on loopback."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host != "localhost" and not ip_address(host).is_loopback:
        raise ValueError(f"scrape target {url} is not on loopback")
    return parts.scheme, parts.netloc, parts.path or "/metrics"


def scrape_config(target: str | None, token: str | None) -> dict[str, Any]:
    """The configuration: a 1 s scrape of `target` (with `token` as Bearer), or no job."""
    config: dict[str, Any] = {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "scrape_configs": [],
    }
    if target is not None:
        scheme, address, path = loopback_target(target)
        job: dict[str, Any] = {
            "job_name": "sdq",
            "scheme": scheme,
            "metrics_path": path,
            "scrape_timeout": SCRAPE_INTERVAL,
            "static_configs": [{"targets": [address]}],
        }
        if token is not None:
            job["authorization"] = {"type": "Bearer", "credentials": token}
        config["scrape_configs"].append(job)
    return config


@dataclass
class Prometheus:
    """A started server: instant queries, waits on a query's result, and expression checks."""

    url: str
    http: httpx.Client

    def answer(self, expr: str) -> dict[str, Any]:
        """The body of an instant query of `expr` (an error body raises QueryFailed)."""
        body: dict[str, Any] = self.http.get("/api/v1/query", params={"query": expr}).json()
        if body["status"] != "success":
            raise QueryFailed(body["errorType"], body["error"])
        return body

    def query(self, expr: str) -> Result:
        """The samples an instant query of `expr` returns (a vector's; a scalar as one sample)."""
        data = self.answer(expr)["data"]
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        result: Result = data["result"]
        return result

    def value(self, expr: str) -> float | None:
        """The single value of `expr` (e.g. a sum), None while it has no sample."""
        result = self.query(expr)
        if not result:
            return None
        [sample] = result
        return float(sample["value"][1])

    def check(self, expr: str) -> str | None:
        """Prometheus' complaint about `expr` ("bad_data: parse error ..."), None if it runs."""
        try:
            self.answer(expr)
        except QueryFailed as failure:
            return str(failure)
        return None

    def wait_for(
        self, expr: str, predicate: Callable[[Result], bool], timeout: float = 60
    ) -> Result:
        """The first result of `expr` that satisfies `predicate`, polled until `timeout` s."""

        def satisfied() -> Result | None:
            result = self.query(expr)
            return result if predicate(result) else None

        found: Result = wait_until(satisfied, timeout, f"{expr} to satisfy the predicate", 0.25)
        return found

    def label_values(self, label: str, match: str) -> list[str]:
        """The values of `label` on series matching `match` (Grafana's label_values())."""
        response = self.http.get(f"/api/v1/label/{label}/values", params={"match[]": match})
        values: list[str] = response.json()["data"]
        return values


@contextlib.contextmanager
def running_prometheus(
    folder: Path, target: str | None = None, token: str | None = None
) -> Iterator[Prometheus]:
    """Prometheus on a free loopback port, its config and storage in `folder`, scraping
    `target` (a loopback URL such as http://127.0.0.1:PORT/metrics) every second when given;
    its log is printed if anything fails."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "prometheus.yml"
    config.write_text(json.dumps(scrape_config(target, token)))  # JSON is YAML
    port = free_port()
    log = folder / "prometheus.log"
    argv = [
        binary(),
        f"--config.file={config}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.external-url=http://127.0.0.1:{port}/",
        "--log.level=warn",
    ]
    process = subprocess.Popen(
        argv, stdout=log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=30) as http:

            def ready() -> bool:
                if process.poll() is not None:
                    raise AssertionError(f"prometheus exited with {process.returncode}")
                try:
                    return http.get("/-/ready").status_code == 200
                except httpx.TransportError:
                    return False

            wait_until(ready, 60, "prometheus to be ready", 0.1)
            yield Prometheus(url, http)
    except BaseException:
        sys.stderr.write(f"--- prometheus.log\n{log.read_text()[-4000:]}\n")
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
