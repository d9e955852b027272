"""`sdq submit`: create a prediction against a running sdq, show progress, save the image."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from cli.client import ApiProblem, SdqClient
from sdq.settings import TINY_MODEL_ID

console = Console(stderr=True)


def _follow_stream(client: SdqClient, prediction: dict[str, Any]) -> dict[str, Any]:
    """A progress bar fed by the prediction's events: step, total, it/s and ETA."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TextColumn("ETA {task.fields[eta]}"),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("queued", total=None, rate="", eta="?")
        for kind, data in client.stream(prediction):
            if kind == "started":
                progress.update(task, description=f"running (attempt {data['attempt']})")
            elif kind == "progress":
                eta = "?" if data["eta_s"] is None else f"{data['eta_s']:.1f} s"
                progress.update(
                    task,
                    completed=data["step"],
                    total=data["total"],
                    rate=f"{data['it_per_s']:.1f} it/s",
                    eta=eta,
                )
            elif kind == "completed":
                progress.update(task, description=data["status"])
                return data
    return client.get(prediction["id"])


def register(app: typer.Typer) -> None:
    @app.command()
    def submit(
        prompt: Annotated[str, typer.Argument(help="What to draw.")],
        model: Annotated[str, typer.Option(help="Model id.")] = TINY_MODEL_ID,
        width: Annotated[int, typer.Option()] = 512,
        height: Annotated[int, typer.Option()] = 512,
        steps: Annotated[int, typer.Option(help="num_inference_steps")] = 20,
        guidance: Annotated[float, typer.Option(help="guidance_scale")] = 7.5,
        seed: Annotated[int | None, typer.Option()] = None,
        scheduler: Annotated[str | None, typer.Option(help="e.g. 'Euler a', DDIM")] = None,
        negative: Annotated[str | None, typer.Option(help="negative_prompt")] = None,
        num_outputs: Annotated[int, typer.Option()] = 1,
        wait: Annotated[bool, typer.Option(help="Wait for the result.")] = True,
        stream: Annotated[
            bool, typer.Option(help="Show live step progress (server-sent events).")
        ] = False,
        out: Annotated[Path | None, typer.Option(help="Save the (first) image here.")] = None,
        url: Annotated[str, typer.Option(envvar="SDQ_URL", help="sdq API base URL.")] = (
            "http://127.0.0.1:7860"
        ),
    ) -> None:
        """Submit a prompt; with --wait (default) show progress and save the outputs."""
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
        client = SdqClient(url)
        try:
            prediction = client.create(model, inputs)
        except ApiProblem as problem:
            console.print(f"[red]{problem}[/]")
            for field in (
                problem.body.get("invalid_fields", []) if isinstance(problem.body, dict) else []
            ):
                console.print(f"  {field['field']}: {field['description']}")
            raise typer.Exit(2) from None
        console.print(f"created {prediction['id']}")
        if not wait:
            typer.echo(prediction["id"])
            return
        started = time.monotonic()
        if stream:
            prediction = _follow_stream(client, prediction)
        else:
            with console.status("") as status:

                def show(p: dict[str, Any]) -> None:
                    status.update(f"{p['status']} … {time.monotonic() - started:.1f} s")

                show(prediction)
                prediction = client.wait(prediction, on_update=show)
        if prediction["status"] != "succeeded":
            console.print(f"[red]{prediction['status']}[/]: {prediction.get('error')}")
            raise typer.Exit(1)
        for index, output in enumerate(prediction["output"]):
            target = out if out is not None and index == 0 else None
            if target is None:
                suffix = "" if index == 0 else f"-{index}"
                stem = out.stem if out else prediction["id"]
                target = (out.parent if out else Path()) / f"{stem}{suffix}.png"
            client.download(output, target)
            typer.echo(str(target))
        metrics = prediction["metrics"]
        console.print(
            f"[green]succeeded[/] in {time.monotonic() - started:.2f} s "
            f"(pipeline {metrics.get('predict_time', 0):.2f} s, "
            f"queue {metrics.get('queue_wait', 0):.2f} s)"
        )
