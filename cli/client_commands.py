"""`sdq submit`: create a prediction against a running sdq, show its progress, save the images."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from cli.api_key import api_key
from cli.client import SdqClient
from cli.job_progress import Event, describe, follow_job, queue_place
from cli.reporting import fail, reported
from sdq.schedulers import DEFAULT_SCHEDULER
from sdq.settings import TINY_MODEL_ID

console = Console(stderr=True)


def _with_bar(client: SdqClient, prediction: dict[str, Any]) -> Any:
    """On a terminal: a live bar with step, total, it/s and ETA."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TextColumn("ETA {task.fields[eta]}"),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("queued", total=None, rate="", eta="?")
        return follow_job(client, prediction, lambda event: _advance(progress, task, event))


def _advance(progress: Progress, task: TaskID, event: Event) -> None:
    kind, data = event
    if kind == "queued" and (place := queue_place(data)):
        progress.update(task, description=place)
    elif kind in ("started", "requeued"):
        progress.update(task, description=describe(kind, data), completed=0)
    elif kind == "progress":
        rate, eta = data.get("it_per_s"), data.get("eta_s")
        progress.update(
            task,
            completed=data["step"],
            total=data["total"],
            rate="" if rate is None else f"{rate:.1f} it/s",
            eta="?" if eta is None else f"{eta:.1f} s",
        )
    elif kind == "completed":
        progress.update(task, description=data["status"])


def _with_lines(client: SdqClient, prediction: dict[str, Any]) -> Any:
    """Off a terminal (a pipe, a log, CI): one plain line per step."""

    def show(event: Event) -> None:
        line = describe(*event)
        if line is not None:
            console.print(line, markup=False, highlight=False)

    return follow_job(client, prediction, show)


def _targets(out: Path | None, prediction_id: str, count: int) -> list[Path]:
    """Where each output goes: OUT, OUT-1, OUT-2 … or ID.png, ID-1.png … in this folder."""
    first = out if out is not None else Path(f"{prediction_id}.png")
    return [first] + [first.with_name(f"{first.stem}-{i}{first.suffix}") for i in range(1, count)]


def register(app: typer.Typer) -> None:
    @app.command()
    def submit(
        prompt: Annotated[str, typer.Argument(help="What to draw.")],
        model: Annotated[str, typer.Option(help="Model id.")] = TINY_MODEL_ID,
        width: Annotated[int, typer.Option(help="Image width in pixels.")] = 512,
        height: Annotated[int, typer.Option(help="Image height in pixels.")] = 512,
        steps: Annotated[int, typer.Option(help="Denoising steps (num_inference_steps).")] = 20,
        guidance: Annotated[float, typer.Option(help="guidance_scale.")] = 7.5,
        seed: Annotated[
            int | None,
            typer.Option(help="Random seed (unset: a random one, stored with the prediction)."),
        ] = None,
        scheduler: Annotated[
            str | None,
            typer.Option(help=f"Sampler, e.g. 'Euler a', DDIM (unset: {DEFAULT_SCHEDULER})."),
        ] = None,
        negative: Annotated[str | None, typer.Option(help="negative_prompt (unset: none).")] = None,
        num_outputs: Annotated[int, typer.Option(help="Images to make.")] = 1,
        wait: Annotated[
            bool, typer.Option(help="Wait for the images (--no-wait: print the id and exit).")
        ] = True,
        progress: Annotated[
            bool,
            typer.Option(
                help="Show step progress: a live bar on a terminal, plain lines otherwise."
            ),
        ] = True,
        stream: Annotated[
            bool | None, typer.Option("--stream/--no-stream", hidden=True)
        ] = None,  # before progress was the default: now --progress/--no-progress
        out: Annotated[
            Path | None,
            typer.Option(
                help="Where to save the image; more images get -1, -2 … "
                "(unset: PREDICTION_ID.png here)."
            ),
        ] = None,
        url: Annotated[
            str,
            typer.Option(envvar="SDQ_URL", show_envvar=False, help="sdq API (env SDQ_URL)."),
        ] = "http://127.0.0.1:7860",
    ) -> None:
        """Submit a prompt, show its progress and save the images (or, --no-wait, print its id).
        Sends the API key in SDQ_API_KEY (else SDQ_ADMIN_KEY) when one is set."""
        inputs: dict[str, Any] = {
            "prompt": prompt,
            "width": width,
            "height": height,
            "num_inference_steps": steps,
            "guidance_scale": guidance,
            "num_outputs": num_outputs,
        }
        optional = {"seed": seed, "scheduler": scheduler, "negative_prompt": negative}
        inputs |= {k: v for k, v in optional.items() if v is not None}
        client = SdqClient(url, api_key=api_key())
        with reported(url):
            prediction = client.create(model, inputs)
            if not wait:
                typer.echo(prediction["id"])
                return
            console.print(f"created {prediction['id']}", highlight=False)
            started = time.monotonic()
            if not (progress if stream is None else stream):
                prediction = client.wait(prediction)
            elif console.is_terminal:
                prediction = _with_bar(client, prediction)
            else:
                prediction = _with_lines(client, prediction)
            elapsed = time.monotonic() - started
            if prediction["status"] != "succeeded":
                fail(f"{prediction['status']}: {prediction.get('error')}", 1)
            metrics = prediction["metrics"]
            console.print(
                f"[green]succeeded[/] in {elapsed:.2f} s "
                f"(pipeline {metrics.get('predict_time', 0):.2f} s, "
                f"queue {metrics.get('queue_wait', 0):.2f} s)"
            )
            outputs = prediction["output"]
            targets = _targets(out, prediction["id"], len(outputs))
            for output, target in zip(outputs, targets, strict=True):
                client.download(output, target)
                typer.echo(f"wrote {target}")
