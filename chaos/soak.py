"""The soak: `sdq up` on the synthetic model, the planned jobs in every dialect, the planned
SIGKILLs, then the invariants checked and a JSON report written (`python -m chaos --help`)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from chaos import processes
from chaos.clients import MODEL, Outcome, submit
from chaos.plan import JobSpec, Plan, make_plan
from chaos.receiver import Receiver
from chaos.verdict import TERMINAL, Final, Observations, judge
from cli.embedded_redis import free_port

REPO = Path(__file__).resolve().parents[1]
# Two workers at most: `sdq up` would start up to ten on a machine with two cores.
MODELS = [{"id": MODEL, "scaling": {"max_replicas": 2}}]
UNSEEN = Final("unseen")
LIMITS = httpx.Limits(max_connections=500)  # every job's call may be open at once


def up_env(step_s: float) -> dict[str, str]:
    """`sdq up`'s environment: this one without SDQ_ settings, plus fast recovery and retries."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDQ_")}
    return env | {
        "PYTHONUNBUFFERED": "1",
        "SDQ_TORCH_THREADS": "1",
        "SDQ_MODELS": json.dumps(MODELS),
        "SDQ_SYNTHETIC_STEP_SECONDS": str(step_s),
        "SDQ_HEARTBEAT_INTERVAL_S": "1",
        "SDQ_HEARTBEAT_TTL_S": "4",
        "SDQ_REAPER_INTERVAL_S": "1",
        "SDQ_SCALER_POLL_INTERVAL_S": "1",
        "SDQ_WEBHOOK_ALLOW_PRIVATE": "true",
        "SDQ_WEBHOOK_RETRY_SCHEDULE_S": "0.5,1,1,2,2,2,2,2,2,2",
    }


@contextlib.contextmanager
def sdq_up(data_dir: Path, port: int, step_s: float) -> Iterator[subprocess.Popen[bytes]]:
    """`sdq up` as a user runs it (its terminal output in DATA_DIR/up.log), stopped at the end."""
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "cli", "up", "--port", str(port), "--data-dir", str(data_dir)]
    with (data_dir / "up.log").open("wb") as log:
        up = subprocess.Popen(
            argv, env=up_env(step_s), cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            yield up
        finally:
            if up.poll() is None:
                up.send_signal(signal.SIGTERM)
                try:
                    up.wait(timeout=90)
                except subprocess.TimeoutExpired:
                    up.kill()
                    up.wait()


def wait_for(predicate: Callable[[], bool], deadline: float, pause: float = 0.5) -> bool:
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(pause)
    return True


def ready(http: httpx.Client) -> bool:
    try:
        return http.get("/readyz").status_code == 200
    except httpx.TransportError:
        return False


def read(http: httpx.Client, path: str, deadline: float) -> dict[str, Any] | None:
    """A GET through outages (the API or Redis restarting); None when it never answered 200."""
    while time.monotonic() < deadline:
        try:
            response = http.get(path)
            if response.status_code == 200:
                body: dict[str, Any] = response.json()
                return body
            if response.status_code == 404:
                return None
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    return None


def ids_by_prompt(http: httpx.Client, deadline: float) -> dict[str, list[str]]:
    """Every listed prediction's id by its prompt (each planned prompt is unique)."""
    found: dict[str, list[str]] = defaultdict(list)
    path: str | None = "/v1/predictions?limit=100"
    while path is not None and (page := read(http, path, deadline)) is not None:
        for item in page["results"]:
            found[str(item["input"].get("prompt"))].append(item["id"])
        after = urlsplit(page["next"]) if page.get("next") else None
        path = f"{after.path}?{after.query}" if after else None
    return found


def final_of(body: dict[str, Any]) -> Final:
    names = tuple(urlsplit(url).path.rsplit("/", 1)[-1] for url in body.get("output") or [])
    return Final(body["status"], body.get("error"), names)


def drive(
    plan: Plan, up_pid: int, http: httpx.Client, receiver: Receiver, deadline: float
) -> tuple[dict[int, Outcome], list[dict[str, Any]]]:
    """Send each job at its time (a thread each: synchronous calls wait) and SIGKILL on
    schedule; the outcome of every send that ended by the deadline, and the kills done."""
    outcomes: dict[int, Outcome] = {}
    kills: list[dict[str, Any]] = []
    rng = random.Random(plan.seed)
    start = time.monotonic()

    def send(job: JobSpec) -> None:
        time.sleep(max(0.0, start + job.at_s - time.monotonic()))
        outcomes[job.index] = submit(http, job, receiver.url(job.index), deadline, time.monotonic)

    threads = [threading.Thread(target=send, args=(job,), daemon=True) for job in plan.jobs]
    for thread in threads:
        thread.start()
    for kill in plan.kills:
        time.sleep(max(0.0, start + kill.at_s - time.monotonic()))
        pid = processes.kill_one(up_pid, kill.kind, rng)
        kills.append({"at_s": round(time.monotonic() - start, 2), "kind": kill.kind, "pid": pid})
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    return dict(outcomes), kills


def settle(
    http: httpx.Client, receiver: Receiver, accepted: list[str], natives: list[str], deadline: float
) -> dict[str, Final]:
    """Read the accepted jobs until each is terminal and each native one's `completed` webhook
    has come, or the deadline; their last states."""
    final: dict[str, Final] = {}

    def settled() -> bool:
        for job_id in [i for i in accepted if final.get(i, UNSEEN).status not in TERMINAL]:
            if (body := read(http, f"/v1/predictions/{job_id}", deadline)) is not None:
                final[job_id] = final_of(body)
        hooks = receiver.snapshot()
        terminal = all(final.get(i, UNSEEN).status in TERMINAL for i in accepted)
        return terminal and all(hooks.get(job_id) for job_id in natives)

    wait_for(settled, deadline)
    return final


def run(plan: Plan, data_dir: Path, step_s: float, settle_s: float) -> dict[str, Any]:
    """Run the plan against a fresh `sdq up` in `data_dir`; the report (see chaos.verdict)."""
    receiver = Receiver({j.index: j.refuse_webhooks for j in plan.jobs}).start()
    port = free_port()
    timeout = httpx.Timeout(10, read=plan.duration_s + settle_s)  # synchronous calls wait
    with (
        sdq_up(data_dir, port, step_s) as up,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=timeout, limits=LIMITS) as http,
    ):
        if not wait_for(lambda: ready(http), time.monotonic() + 180):
            raise RuntimeError(f"sdq up never became ready; see {data_dir / 'up.log'}")
        start = time.monotonic()
        deadline = start + plan.duration_s + settle_s
        outcomes, kills = drive(plan, up.pid, http, receiver, deadline)
        by_prompt = ids_by_prompt(http, deadline + 5)
        accepted: dict[int, str] = {}
        refused: dict[int, str] = {}
        for job in plan.jobs:
            outcome = outcomes.get(job.index, Outcome(False, None, "still sending"))
            if outcome.answered:  # a failed synchronous call names no id: the list has it
                listed = by_prompt.get(job.prompt) or [f"unlisted-{job.index}"]
                accepted[job.index] = outcome.job_id or listed[0]
            else:
                refused[job.index] = outcome.reason
        natives = [
            accepted[j.index] for j in plan.jobs if j.dialect == "native" and j.index in accepted
        ]
        final = settle(http, receiver, list(accepted.values()), natives, deadline + 5)
        elapsed = round(time.monotonic() - start, 1)
        time.sleep(2)  # late duplicate webhooks, if any, arrive
    receiver.stop()
    outputs = data_dir / "outputs"
    files = {
        job_id: tuple(sorted(p.name for p in (outputs / job_id).iterdir()))
        for job_id in accepted.values()
        if (outputs / job_id).is_dir()
    }
    counts = {job.index: len(by_prompt.get(job.prompt, [])) for job in plan.jobs}
    seen = Observations(plan.jobs, accepted, refused, final, files, receiver.snapshot(), counts)
    return judge(seen) | {
        "seed": plan.seed,
        "duration_s": plan.duration_s,
        "elapsed_s": elapsed,
        "kills": kills,
        "webhooks_refused_on_purpose": receiver.refused,
        "data_dir": str(data_dir),
    }


def summary(report: dict[str, Any]) -> str:
    kinds = ", ".join(f"{k['kind']}@{k['at_s']}s" + ("" if k["pid"] else " (none running)")
                      for k in report["kills"])  # fmt: skip
    lines = [
        f"chaos soak, seed {report['seed']}: {report['jobs']} jobs, {len(report['kills'])} kills"
        f" ({kinds})",
        f"accepted {report['accepted']} {report['accepted_by_dialect']}, "
        f"succeeded {report['succeeded']}, failed {report['failed']}, "
        f"canceled {report['canceled']}, aborted {report['aborted']}, lost {len(report['lost'])}; "
        f"{report['succeeded_after_a_lost_attempt']} succeeded after a lost attempt",
        f"completed webhooks {report['completed_webhooks']} "
        f"(refused on purpose first: {report['webhooks_refused_on_purpose']})",
    ]
    lines += [f"failure: {why} x{n}" for why, n in report["failure_reasons"].items()]
    lines += [f"not accepted: job {i}: {why}" for i, why in report["not_accepted"].items()]
    lines += [f"PROBLEM {p}" for p in report["problems"]]
    lines.append("OK" if report["ok"] else f"FAILED; replay: {report['command']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--jobs", type=int, default=60)
    parser.add_argument("--duration", type=float, default=90, help="seconds of jobs and kills")
    parser.add_argument("--seed", type=int, default=None, help="default: a random one, reported")
    parser.add_argument("--out", type=Path, default=Path("chaos-report.json"))
    parser.add_argument(
        "--step-seconds", type=float, default=0.2, help="synthetic step time (workers ~75%% busy)"
    )
    parser.add_argument("--settle", type=float, default=90, help="seconds allowed to recover")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: a temporary one")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    command = (
        f"python -m chaos --jobs {args.jobs} --duration {args.duration:g} --seed {seed} "
        f"--step-seconds {args.step_seconds:g} --settle {args.settle:g}"
    )
    plan = make_plan(seed, args.jobs, args.duration)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="sdq-chaos-"))
    report = run(plan, data_dir, args.step_seconds, args.settle) | {"command": command}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(summary(report))
    print(f"report: {args.out}")
    if not report["ok"]:
        print(f"logs of every process: {data_dir / 'logs'}")
    elif args.data_dir is None:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0 if report["ok"] else 1
