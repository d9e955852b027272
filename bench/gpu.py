"""GPU benchmark on random-weight, full-size SD 1.5 and SDXL (nothing downloaded): raw diffusers
vs sdq's worker path images/s per batch size, the batching and compile gains, load and warm-up
time, peak memory; writes a Markdown table and JSON. `--device cpu --tiny` checks it anywhere.

Runs on a machine with CUDA torch and nothing else of ours: see bench/gpu_bundle/run.sh."""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import diffusers
import torch

from sdq.inputs import InputLimits, parse_input
from sdq.model_runtime import ModelRuntime
from sdq.schedulers import DEFAULT_SCHEDULER
from sdq.settings import ModelSpec, Settings
from worker.engines.diffusers_engine import DiffusersEngine
from worker.engines.loader import load_engine_timed
from worker.engines.random_model import make_random

PROMPT = "a photograph of an astronaut riding a horse"
GOAL_RATIO = 0.97  # sdq's worker path vs raw diffusers at batch 1 (docs/benchmarks.md)
SIZES = {"sd15": 512, "sdxl": 1024, "sd15-mini": 64, "sdxl-mini": 64}


def measure(
    call: Callable[[], object], images: int, repeats: int, device: str
) -> tuple[float, int | None]:
    """Images per second over `repeats` calls after one untimed call, and the peak GPU memory."""
    call()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    for _ in range(repeats):
        call()
    if device == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - started
    peak = torch.cuda.max_memory_allocated() if device == "cuda" else None
    return images * repeats / elapsed, peak


def raw_call(engine: DiffusersEngine, batch: int, size: int, steps: int) -> Callable[[], object]:
    """A plain pipeline call: a list of prompts, one generator per image (what micro-batching
    does), the same scheduler and precision as the worker's."""
    pipe: Any = engine.model.pipeline
    pipe.scheduler = engine.schedulers.get(DEFAULT_SCHEDULER)

    def call() -> object:
        generators = [torch.Generator("cpu").manual_seed(i) for i in range(batch)]
        with torch.inference_mode():
            return pipe(
                prompt=[PROMPT] * batch,
                num_inference_steps=steps,
                guidance_scale=7.5,
                width=size,
                height=size,
                generator=generators,
            ).images

    return call


def worker_call(engine: DiffusersEngine, batch: int, size: int, steps: int) -> Callable[[], object]:
    """The engine call the worker makes for a job (step callback, scheduler choice, seeds)."""
    fields = {"width": size, "height": size, "num_inference_steps": steps, "num_outputs": batch}
    request = parse_input(
        {"prompt": PROMPT, "seed": 0, "guidance_scale": 7.5} | fields, InputLimits(8, size)
    )
    return lambda: engine.generate(request, lambda _step, _total, _latents: False)


def load(
    folder: Path, family: str, device: str, runtime: ModelRuntime, data_dir: Path
) -> tuple[DiffusersEngine, dict[str, float]]:
    settings = Settings(data_dir=data_dir, device=device)
    # "sdxl-mini" is an SDXL checkpoint: the model family is the name before the size.
    kind = "sdxl" if family.startswith("sdxl") else "sd15"
    spec = ModelSpec(id=f"bench/{family}", source=str(folder), runtime=runtime, family=kind)
    engine, timings = load_engine_timed(spec, settings)
    assert isinstance(engine, DiffusersEngine)
    return engine, {"load_s": round(timings.load_s, 2), "warmup_s": round(timings.warmup_s, 2)}


def free(device: str) -> None:
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()


def bench_family(args: argparse.Namespace, family: str) -> dict[str, Any]:
    size, device, steps, repeats = SIZES[family], args.device, args.steps, args.repeats
    dtype = torch.float16 if device == "cuda" else torch.float32
    started = time.perf_counter()
    folder = make_random(family, args.models_dir / family, dtype=dtype, device=device)
    made_s = time.perf_counter() - started
    free(device)
    eager = ModelRuntime(warmup_size=size, warmup_steps=2, channels_last=device == "cuda")
    engine, timings = load(folder, family, device, eager, args.models_dir)
    rows: list[dict[str, Any]] = []
    for batch in args.batches:
        raw, peak = measure(raw_call(engine, batch, size, steps), batch, repeats, device)
        ours, _ = measure(worker_call(engine, batch, size, steps), batch, repeats, device)
        rows.append(
            {
                "batch": batch,
                "raw_images_per_s": round(raw, 4),
                "sdq_images_per_s": round(ours, 4),
                "sdq_vs_raw": round(ours / raw, 4),
                "peak_memory_bytes": peak,
            }
        )
    for row in rows:
        row["batch_gain"] = round(row["raw_images_per_s"] / rows[0]["raw_images_per_s"], 3)
    result: dict[str, Any] = {
        "size": size,
        "steps": steps,
        "make_random_s": round(made_s, 1),
        **timings,
        "batches": rows,
    }
    del engine
    free(device)
    if args.compile:
        compiled = eager.model_copy(update={"compile": "denoiser"})
        engine, compile_timings = load(folder, family, device, compiled, args.models_dir)
        ours, peak = measure(worker_call(engine, 1, size, steps), 1, repeats, device)
        result["compiled"] = {
            **compile_timings,
            "sdq_images_per_s": round(ours, 4),
            "compile_gain": round(ours / rows[0]["sdq_images_per_s"], 3),
            "peak_memory_bytes": peak,
        }
        del engine
        free(device)
    return result


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# GPU benchmark: {report['machine']['device_name']}\n",
        f"`{report['command']}` — {report['settings']['steps']} steps, random weights, "
        f"goal sdq/raw ≥ {GOAL_RATIO} at batch 1.\n",
        "| family | batch | raw img/s | sdq img/s | sdq/raw | batch gain | peak GiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for family, result in report["families"].items():
        for row in result["batches"]:
            peak = row["peak_memory_bytes"]
            lines.append(
                f"| {family} {result['size']}² | {row['batch']} | {row['raw_images_per_s']:.3f} "
                f"| {row['sdq_images_per_s']:.3f} | {row['sdq_vs_raw']:.3f} "
                f"| {row['batch_gain']:.2f}x | {'-' if peak is None else f'{peak / 2**30:.1f}'} |"
            )
    lines += [
        "",
        "| family | load s | warm-up s | compiled: load s | compile + warm-up s | "
        "compile gain (batch 1) |",
        "|---|---|---|---|---|---|",
    ]
    for family, result in report["families"].items():
        compiled = result.get("compiled")
        extra = (
            f"{compiled['load_s']} | {compiled['warmup_s']} | {compiled['compile_gain']:.2f}x"
            if compiled
            else "- | - | -"
        )
        lines.append(f"| {family} | {result['load_s']} | {result['warmup_s']} | {extra} |")
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--tiny", action="store_true", help="the mini families (CPU checks)")
    parser.add_argument("--families", default=None, help="comma-separated (default: both)")
    parser.add_argument("--batches", default="1,2,4,8")
    parser.add_argument("--steps", type=int, default=None, help="default 20 (tiny: 2)")
    parser.add_argument("--repeats", type=int, default=None, help="default 3 (tiny: 1)")
    parser.add_argument("--no-compile", dest="compile", action="store_false")
    parser.add_argument("--models-dir", type=Path, default=Path(".sdq/gpu-bench/models"))
    parser.add_argument("--out", type=Path, default=Path("bench/results/gpu"))
    args = parser.parse_args(argv)
    default_families = "sd15-mini,sdxl-mini" if args.tiny else "sd15,sdxl"
    args.families = (args.families or default_families).split(",")
    args.batches = [int(part) for part in args.batches.split(",")]
    args.steps = args.steps or (2 if args.tiny else 20)
    args.repeats = args.repeats or (1 if args.tiny else 3)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("no CUDA device here: use --device cpu --tiny")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    device_name = torch.cuda.get_device_name() if args.device == "cuda" else platform.machine()
    report: dict[str, Any] = {
        "benchmark": "raw diffusers vs sdq's worker path on random-weight published architectures",
        "command": "python bench/gpu.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": {
            "device_name": device_name,
            "torch": torch.__version__,
            "diffusers": diffusers.__version__,
            "python": platform.python_version(),
        },
        "settings": {"steps": args.steps, "repeats": args.repeats, "batches": args.batches},
        "families": {},
    }
    for family in args.families:
        print(f"benchmarking {family} …", file=sys.stderr, flush=True)
        report["families"][family] = bench_family(args, family)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    args.out.with_suffix(".md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
