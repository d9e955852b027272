"""`sdq simulate`: replay an arrival pattern through sdq's scaler and two reference autoscalers."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from cli.scaling_commands import parse_assignments
from sdq.scaling_policy import ScalingPolicy

# Wide enough for the whole table when piped (rich assumes 80 columns off a terminal).
console = Console(width=None if sys.stdout.isatty() else 160)

COLUMNS = [
    ("policy", "policy"),
    ("p50_s", "p50 s"),
    ("p90_s", "p90 s"),
    ("p95_s", "p95 s"),
    ("p99_s", "p99 s"),
    ("mean_s", "mean s"),
    ("total_s", "total s"),
    ("gpu_held_s", "GPU-s held"),
    ("gpu_busy_s", "GPU-s busy"),
    ("utilization", "busy/held"),
    ("max_replicas", "max workers"),
    ("restarted_jobs", "restarted"),
    ("unfinished_jobs", "unfinished"),
    ("time_to_zero_s", "to zero s"),
]


def _table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for _, header in COLUMNS:
        table.add_column(header, justify="left" if header == "policy" else "right")
    for row in rows:
        table.add_row(*("never" if row[k] is None else str(row[k]) for k, _ in COLUMNS))
    return table


def _problems(error: ValidationError) -> str:
    """`field: message` for each problem of the sdq policy (`policy` for whole-object rules)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or 'policy'}: {e['msg']}"
        for e in error.errors()
    )


def register(app: typer.Typer) -> None:
    @app.command()
    def simulate(
        requests: Annotated[int, typer.Option("-n", "--requests", help="Closed loop: jobs.")] = 50,
        clients: Annotated[int, typer.Option("-c", "--clients", help="Closed loop: clients.")] = 5,
        rate: Annotated[
            float | None,
            typer.Option(help="Open loop: Poisson arrivals per second (unset: closed loop)."),
        ] = None,
        jobs: Annotated[int, typer.Option(help="Open loop: how many Poisson arrivals.")] = 200,
        trace: Annotated[
            Path | None,
            typer.Option(help="CSV of arrival_s[,duration_s] to replay (unset: no trace)."),
        ] = None,
        job_time: Annotated[
            str,
            typer.Option(
                help="SECONDS, uniform:LOW,HIGH, exp:MEAN, normal:MEAN,SD, lognormal:MEDIAN,SIGMA."
            ),
        ] = "10",
        cold_start: Annotated[float, typer.Option(help="Seconds from start to ready.")] = 0.0,
        poll_interval: Annotated[float, typer.Option(help="sdq's tick, seconds.")] = 2.0,
        max_replicas: Annotated[int, typer.Option(help="Upper bound for every policy.")] = 10,
        keda_list_length: Annotated[
            int, typer.Option(help="KEDA's listLength target (its own default is 5).")
        ] = 1,
        set_: Annotated[
            list[str] | None,
            typer.Option(
                "--set",
                metavar="KEY=VALUE",
                help="sdq policy knob, repeatable (unset: the defaults; the knobs are listed by "
                "`sdq scaling set --help`).",
            ),
        ] = None,
        seed: Annotated[int, typer.Option(help="Random seed for arrivals and job times.")] = 1,
        plot: Annotated[
            Path | None, typer.Option(help="Write a PNG of workers and queue (unset: none).")
        ] = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print JSON instead of a table.")
        ] = False,
    ) -> None:
        """Replay a workload (closed loop like `hey -n 50 -c 5`, Poisson, or a CSV trace) on a
        simulated clock through sdq's `decide` and two reference autoscalers (KPA-like, KEDA on
        LLEN): latency percentiles, total time, GPU-seconds held and busy."""
        from scaler.sim_policies import KedaLlenPolicy, KpaLikePolicy, SdqPolicy, SimPolicy
        from scaler.sim_workload import closed_loop, parse_job_time, poisson
        from scaler.sim_workload import trace as trace_workload
        from scaler.simulator import simulate as run_simulation

        try:
            sampler = parse_job_time(job_time)
            if trace is not None:
                workload = trace_workload(trace.read_text(), sampler, seed)
            elif rate is not None:
                workload = poisson(rate, jobs, sampler, seed)
            else:
                workload = closed_loop(requests, clients, sampler, seed)
            policy = ScalingPolicy.model_validate(
                {"max_replicas": max_replicas} | parse_assignments(set_ or [])
            )
        except ValidationError as error:
            raise typer.BadParameter(_problems(error)) from None
        except (ValueError, OSError) as error:
            raise typer.BadParameter(str(error)) from None
        policies: list[SimPolicy] = [
            SdqPolicy(policy, interval_s=poll_interval),
            KpaLikePolicy(min_replicas=policy.min_replicas, max_replicas=policy.max_replicas),
            KedaLlenPolicy(
                list_length=keda_list_length,
                min_replicas=policy.min_replicas,
                max_replicas=policy.max_replicas,
            ),
        ]
        results = [run_simulation(workload, p, cold_start_s=cold_start) for p in policies]
        times = f"job time {job_time} s" if trace is None else "job times from the trace"
        title = f"{workload.description}, {times}, cold start {cold_start:g} s"
        rows = [r.summary() for r in results]
        if as_json:
            typer.echo(json.dumps({"workload": title, "results": rows}, indent=2))
        else:
            console.print(_table(rows, title))
        if plot is not None:
            from scaler.sim_plot import plot as draw

            draw(results, plot, title)
            console.print(f"wrote {plot}")
