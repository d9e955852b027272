"""`sdq bench URL`: load-test a deployment's create endpoint and summarize it as `hey` does, plus
the queue wait, cold starts and workers that only sdq can tell."""

from __future__ import annotations

import asyncio
import json
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from cli.api_key import api_key
from cli.loadgen.bodies import DEFAULT_PROMPT, NeedsModel, given_body, prompt_body
from cli.loadgen.headers import create_headers, parse_headers, redacted, waits
from cli.loadgen.plan import DEFAULT_REQUESTS, Plan, make_plan, parse_duration
from cli.loadgen.plot import MISSING, can_plot, plot
from cli.loadgen.report import report
from cli.loadgen.runner import Bench, Live, Ran, run, served_models
from cli.loadgen.sdq_facts import sdq_facts
from cli.loadgen.summary import summarize
from cli.loadgen.targets import Dialect, Target, UnsupportedUrl, detect

console = Console(stderr=True)

SUBMIT_ONLY = "the native requests measured the submit only: add -H 'Prefer: wait' or --follow"


def mode_of(dialect: Dialect, follow: bool, headers: dict[str, str]) -> str:
    """What each request's latency runs to: `answer` (A1111 and OpenAI answer with the images),
    `follow` (to the finished prediction, on its event stream), `wait` (the `Prefer: wait`
    answer) or `submit` (the native create alone)."""
    if dialect is not Dialect.NATIVE:
        return "answer"
    if follow:
        return "follow"
    return "wait" if waits(headers) else "submit"


def _body(
    target: Target,
    data: str | None,
    prompt: str | None,
    model: str | None,
    headers: dict[str, str],
) -> bytes:
    """The body of every create: -d's, or one built from the prompt and model."""
    if data is not None:
        if prompt is not None or model is not None:
            raise typer.BadParameter("-d sends its body as is: give -d, or --prompt and --model")
        try:
            return given_body(data)
        except OSError as error:
            raise typer.BadParameter(str(error), param_hint="-d") from None
    if target.dialect is Dialect.NATIVE and target.model is None and model is None:
        served = asyncio.run(served_models(target.base_url, headers))
        model = served[0] if served else None
    try:
        return json.dumps(prompt_body(target, prompt or DEFAULT_PROMPT, model)).encode()
    except NeedsModel as error:
        raise typer.BadParameter(str(error)) from None


def _with_bar(bench: Bench) -> Ran:
    """A live bar on a terminal: requests (or seconds) done, failures, workers."""
    plan = bench.plan
    by_count = plan.requests is not None and plan.duration_s is None
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[done]}"),
        TextColumn("{task.fields[state]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        total = plan.requests if by_count else plan.duration_s
        task = progress.add_task("bench", total=total, done="", state="starting")

        def show(live: Live) -> None:
            _advance(progress, task, live, plan, by_count)

        return run(bench, show)


def _advance(progress: Progress, task: TaskID, live: Live, plan: Plan, by_count: bool) -> None:
    in_flight = live.sent - live.done
    count = live.workers
    workers = "" if count is None else f", {count} worker{'' if count == 1 else 's'}"
    done = f"{live.done}/{plan.requests}" if by_count else f"{live.done} done"
    progress.update(
        task,
        completed=live.done if by_count else min(live.elapsed_s, plan.duration_s or 0.0),
        done=done,
        state=f"{live.failed} failed, {in_flight} in flight{workers}",
    )


def document(bench: Bench, mode: str, ran: Ran, argv: list[str]) -> dict[str, Any]:
    """The JSON a run prints with --json: the command, the run's shape, the summary, sdq's facts
    and every request's outcome."""
    plan = bench.plan
    return {
        "command": shlex.join(["sdq", *redacted(argv)]),
        "url": bench.target.url,
        "dialect": bench.target.dialect.value,
        "mode": mode,
        "plan": plan.describe(),
        "requests": plan.requests,
        "concurrency": None if plan.open_loop else plan.concurrency,
        "rate": plan.rate,
        "duration_s": plan.duration_s,
        "interrupted": ran.interrupted,
        "summary": summarize(ran.outcomes, ran.total_s),
        "sdq": sdq_facts(
            ran.outcomes,
            ran.timeline,
            ran.model,
            no_split=SUBMIT_ONLY if mode == "submit" else None,
            no_workers=ran.no_workers,
        ),
        "outcomes": [outcome.as_json() for outcome in ran.outcomes],
    }


def plot_title(result: dict[str, Any]) -> str:
    summary = result["summary"]
    latency = summary["percentiles"]
    figures = f", p50 {latency['50']:.2f} s, p95 {latency['95']:.2f} s" if latency else ""
    return (
        f"{result['dialect']} {result['url']}: {result['plan']}\n"
        f"{summary['requests']} requests in {summary['total_s']:.1f} s{figures}"
    )


def register(app: typer.Typer) -> None:
    @app.command()
    def bench(
        url: Annotated[
            str,
            typer.Argument(
                metavar="URL",
                help="A create endpoint: http://HOST:PORT/v1/predictions, "
                "…/v1/models/OWNER/NAME/predictions, …/sdapi/v1/txt2img or "
                "…/v1/images/generations.",
            ),
        ],
        requests: Annotated[
            int | None,
            typer.Option(
                "-n",
                "--requests",
                help=f"Requests to send (unset: {DEFAULT_REQUESTS} without --duration, else as "
                "many as fit).",
            ),
        ] = None,
        concurrency: Annotated[
            int,
            typer.Option(
                "-c", "--concurrency", help="Closed loop: clients, each sending after its answer."
            ),
        ] = 5,
        rate: Annotated[
            float | None,
            typer.Option(
                help="Open loop: Poisson arrivals per second, answered or not; -c is then "
                "ignored (unset: closed loop)."
            ),
        ] = None,
        duration: Annotated[
            str | None,
            typer.Option(
                "-z",
                "--duration",
                help="Stop sending after this long: 30, 30s, 2m, 1h (unset: stop at -n). "
                "With -n too, whichever comes first; requests in flight are waited for.",
            ),
        ] = None,
        data: Annotated[
            str | None,
            typer.Option(
                "-d",
                "--data",
                help="The JSON body, sent as is; @FILE reads it from a file (unset: built "
                "from --prompt in the URL's dialect).",
            ),
        ] = None,
        prompt: Annotated[
            str | None,
            typer.Option("-p", "--prompt", help=f"The prompt (unset: '{DEFAULT_PROMPT}')."),
        ] = None,
        model: Annotated[
            str | None,
            typer.Option(
                help="The model the built body names (unset: the path's, or the server's "
                "default; /v1/predictions: the first GET /v1/models lists)."
            ),
        ] = None,
        header: Annotated[
            list[str] | None,
            typer.Option(
                "-H",
                "--header",
                metavar="'NAME: VALUE'",
                help="A header, repeatable: -H 'Prefer: wait' holds native creates until "
                "the image (unset: none; SDQ_API_KEY, else SDQ_ADMIN_KEY, is sent as "
                "Authorization unless -H gives one).",
            ),
        ] = None,
        follow: Annotated[
            bool,
            typer.Option(
                help="Native: time each request to its finished prediction, following its "
                "event stream after the create answers."
            ),
        ] = False,
        timeout: Annotated[
            float, typer.Option("-t", "--timeout", help="Seconds each request may take.")
        ] = 300.0,
        seed: Annotated[int, typer.Option(help="Open loop: random seed of the arrivals.")] = 1,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print one JSON document instead of the text.")
        ] = False,
        plot_to: Annotated[
            Path | None,
            typer.Option(
                "--plot",
                help="Write a PNG of latency and workers over time (needs matplotlib: the "
                "`plot` extra; unset: none).",
            ),
        ] = None,
    ) -> None:
        """Load-test a create endpoint like `hey`: -n requests from -c clients (or --rate
        arrivals per second), then total, slowest, fastest, average, requests/s, a histogram,
        the 10-99 % latency distribution and status codes, plus sdq's own figures: queue wait
        against predict time, cold starts and workers over time. The published scenario from
        zero workers: `sdq bench -n 50 -c 5 http://127.0.0.1:7860/sdapi/v1/txt2img`."""
        try:
            target = detect(url)
            duration_s = parse_duration(duration) if duration is not None else None
            plan = make_plan(requests, concurrency, rate, duration_s, seed)
            given = parse_headers(header or [])
        except (UnsupportedUrl, ValueError) as error:
            raise typer.BadParameter(str(error)) from None
        if timeout <= 0:
            raise typer.BadParameter(f"must be more than 0 (got {timeout:g})", param_hint="-t")
        if follow and target.dialect is not Dialect.NATIVE:
            raise typer.BadParameter(
                f"{target.dialect.value} answers when the images are ready: nothing to follow",
                param_hint="--follow",
            )
        if plot_to is not None and not can_plot():
            raise typer.BadParameter(MISSING, param_hint="--plot")
        headers = create_headers(given, api_key())
        bench = Bench(
            target=target,
            body=_body(target, data, prompt, model, headers),
            headers=headers,
            plan=plan,
            follow=follow,
            timeout_s=timeout,
        )
        mode = mode_of(target.dialect, follow, headers)
        if console.is_terminal:
            console.print(f"{target.dialect.value} {url}: {plan.describe()}", highlight=False)
            ran = _with_bar(bench)
        else:
            ran = run(bench, lambda live: None)
        result = document(bench, mode, ran, sys.argv[1:])
        if as_json:
            typer.echo(json.dumps(result, indent=2))
        else:
            typer.echo(report(result), nl=False)
        if plot_to is not None:
            plot(ran.outcomes, ran.timeline, plot_to, plot_title(result))
            console.print(f"wrote {plot_to}", highlight=False)
        if not any(o.answered for o in ran.outcomes):
            raise typer.Exit(1)  # nothing answered: the server is unreachable or wrong
