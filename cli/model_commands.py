"""`sdq models …`: model utilities (random-weight pipelines: the tiny one, full-size ones)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sdq.logs import quiet_libraries

app = typer.Typer(help="Model utilities.", no_args_is_help=True)


@app.callback()
def quiet() -> None:
    # Before diffusers is imported: its and transformers' notices (optional backends, configs
    # they would write differently) are not these commands' output, which is one line.
    quiet_libraries(verbose=False)


@app.command("make-tiny")
def make_tiny_command(
    folder: Annotated[Path, typer.Argument(help="Where to write the pipeline.")],
    family: Annotated[str, typer.Option(help="sd15, sdxl, sd3 or flux.")] = "sd15",
    seed: Annotated[int, typer.Option(help="Seed of the random weights.")] = 0,
) -> None:
    """Write a tiny random-weight pipeline of a model family (loads and runs like a real one, in
    well under a second per image on a CPU): serve it with `"family"` set in its model spec."""
    from sdq.families import FAMILY_NAMES
    from worker.engines.tiny_families import make_tiny_family

    if family not in FAMILY_NAMES:
        raise typer.BadParameter(f"one of {', '.join(FAMILY_NAMES)}", param_hint="--family")
    try:
        written = make_tiny_family(family, folder, seed=seed)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="FOLDER") from None
    typer.echo(f"tiny {family} pipeline in {written}")


@app.command("make-tiny-lora")
def make_tiny_lora_command(
    base: Annotated[Path, typer.Argument(help="The pipeline folder the adapter is for.")],
    out: Annotated[Path, typer.Argument(help="The adapter file to write (NAME.safetensors).")],
    seed: Annotated[int, typer.Option(help="Seed of the random weights.")] = 0,
) -> None:
    """Write a random LoRA adapter for a pipeline of any family (the tiny ones, in tests and
    demos): put it in the model's adapters folder and ask for it by its file name."""
    from worker.engines.tiny_lora import make_tiny_lora

    try:
        written = make_tiny_lora(base, out, seed=seed)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="OUT") from None
    typer.echo(f"wrote LoRA adapter {written.stem!r} to {written}")


@app.command("make-random")
def make_random_command(
    folder: Annotated[Path, typer.Argument(help="Where to write the pipeline.")],
    family: Annotated[
        str,
        typer.Option(help="sd15 or sdxl (full size); sd15-mini or sdxl-mini (for tests)."),
    ] = "sd15",
    device: Annotated[str, typer.Option(help="Build the weights on cpu or cuda (faster).")] = "cpu",
) -> None:
    """Write a random-weight pipeline of a published architecture (fp16 safetensors; SD 1.5
    about 2 GB, SDXL about 7 GB): the real model's compute, for benchmarks, nothing downloaded."""
    from worker.engines.published_configs import FAMILIES
    from worker.engines.random_model import make_random

    if family not in FAMILIES:
        raise typer.BadParameter(f"one of {', '.join(FAMILIES)}", param_hint="--family")
    written = make_random(family, folder, device=device)
    typer.echo(f"wrote random-weight {family} pipeline to {written}")
