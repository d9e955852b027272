"""`sdq up`, `sdq api`, `sdq worker`, `sdq demo`: running the stack or one of its parts."""

from __future__ import annotations

import contextlib
import signal
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli.client import SdqClient
from cli.preflight import PreflightFailed, bind_listener
from cli.stack import StackInfo, running_stack
from cli.supervisor import Supervisor
from sdq.access_mode import AccessMode, AccessRefused, access_mode
from sdq.logs import configure_logging, level_number, logs_dir
from sdq.settings import TINY_MODEL_ID, ModelSpec, Settings, load_settings

console = Console(stderr=True)

_DEFAULTS = {name: field.default for name, field in Settings.model_fields.items()}
HostOpt = Annotated[
    str | None,
    typer.Option(help=f"Address to listen on (unset: SDQ_HOST, else {_DEFAULTS['host']})."),
]
PortOpt = Annotated[
    int | None, typer.Option(help=f"Port to listen on (unset: SDQ_PORT, else {_DEFAULTS['port']}).")
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        help="Where Redis, models and outputs live "
        f"(unset: SDQ_DATA_DIR, else {_DEFAULTS['data_dir']})."
    ),
]
LogLevelOpt = Annotated[
    str | None,
    typer.Option(
        "--log-level",
        metavar="LEVEL",
        help="debug: every process's log on this terminal too (unset: SDQ_LOG_LEVEL, else info). "
        "Each process always writes its own file under DATA_DIR/logs.",
    ),
]
ModelOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--model",
        metavar="ID[=SOURCE]|JSON",
        help="Model to serve, repeatable: ID, ID=SOURCE, or one SDQ_MODELS entry as a JSON "
        f'object (\'{{"id": "…", "family": "flux"}}\') (unset: SDQ_MODELS, else {TINY_MODEL_ID}).',
    ),
]


def _settings(
    host: str | None = None,
    port: int | None = None,
    data_dir: Path | None = None,
    models: list[str] | None = None,
) -> Settings:
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if models:
        overrides["models"] = [ModelSpec.parse(m) for m in models]
    try:
        return load_settings(**overrides)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


def _require_redis(settings: Settings) -> str:
    if not settings.redis_url:
        raise typer.BadParameter("SDQ_REDIS_URL must be set (or use `sdq up`)")
    return settings.redis_url


def _access(settings: Settings) -> AccessMode:
    """How the API will be protected, or (before anything starts) one red line and exit 1 when
    it would serve a network address open."""
    try:
        return access_mode(settings)
    except AccessRefused as refused:
        console.print(str(refused), style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _access_row(mode: AccessMode) -> str:
    if mode.keys_required:
        return f"{mode.notice} (`sdq keys create NAME`; SDQ_ADMIN_KEY is the first admin key)"
    return mode.notice


def _summary(info: StackInfo, settings: Settings, mode: AccessMode) -> Table:
    table = Table(title="sdq is up", show_header=False, title_justify="left")
    table.add_row("API", info.url)
    table.add_row("Access", _access_row(mode))
    table.add_row("Web UI", f"{info.url}/ (playground), {info.url}/ops (operator console)")
    table.add_row("Docs", f"{info.url}/docs")
    redis_label = f"{info.redis_url} (embedded)" if info.embedded_redis else info.redis_url
    table.add_row("Redis", redis_label)
    table.add_row("Models", ", ".join(m.id for m in settings.models))
    table.add_row("Workers", "started when work arrives, stopped when idle (`sdq scaling show`)")
    table.add_row("Data dir", str(settings.data_dir.resolve()))
    table.add_row("Logs", f"{logs_dir(settings).resolve()}/ (--log-level debug: here too)")
    table.add_row("Webhooks", "signed with the secret `sdq webhook-secret` prints")
    return table


def _enter_stack(exits: contextlib.ExitStack, settings: Settings) -> tuple[StackInfo, Supervisor]:
    """Start the stack inside `exits`, or say in one line why it cannot start, and exit 1."""
    try:
        return exits.enter_context(running_stack(settings))
    except PreflightFailed as failed:
        console.print(f"[red]{failed}[/]")
        raise typer.Exit(1) from None


def _wait_ready(info: StackInfo, supervisor: Supervisor, settings: Settings) -> SdqClient:
    """A client of the stack's API (with its bootstrap admin key, if any) once that API, not
    another process on its address, is ready."""
    admin_key = settings.admin_key.get_secret_value() if settings.admin_key else None
    client = SdqClient(info.url, api_key=admin_key)
    with console.status("starting Redis, the API and the scaler…"):
        try:
            client.wait_ready(timeout_s=120, expect_pid=lambda: supervisor.pid("api"))
        except TimeoutError:
            console.print(f"[red]the API did not become ready on {info.url}[/]")
            raise typer.Exit(1) from None
    return client


def _with_log_level(settings: Settings, log_level: str | None) -> Settings:
    """`--log-level` over SDQ_LOG_LEVEL; the children of `sdq up` inherit it."""
    if log_level is None:
        return settings
    try:
        level_number(log_level)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--log-level") from None
    return settings.model_copy(update={"log_level": log_level.upper()})


def _say(line: str) -> None:
    """A line of a job's progress, timed like the log lines around it."""
    console.print(f"{time.strftime('%H:%M:%S')} {line}", soft_wrap=True, highlight=False)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM and SIGINT both mean: stop in order (a second one stops at once)."""
    raise KeyboardInterrupt()


def register(app: typer.Typer) -> None:
    @app.command()
    def up(
        host: HostOpt = None,
        port: PortOpt = None,
        data_dir: DataDirOpt = None,
        model: ModelOpt = None,
        log_level: LogLevelOpt = None,
    ) -> None:
        """Run everything on this machine: Redis (embedded unless SDQ_REDIS_URL), the API, the
        webhook sender and the scaler, which starts workers when jobs arrive (from zero)."""
        from cli.model_check import print_model_checks

        settings = _with_log_level(_settings(host, port, data_dir, model), log_level)
        mode = _access(settings)  # before Redis or the API start
        configure_logging(settings, "up", console=True)
        print_model_checks(settings, console)
        # Both explicitly: a shell without job control starts background jobs with SIGINT ignored.
        signal.signal(signal.SIGTERM, _raise_interrupt)
        signal.signal(signal.SIGINT, _raise_interrupt)
        try:
            with contextlib.ExitStack() as exits:
                info, supervisor = _enter_stack(exits, settings)
                _wait_ready(info, supervisor, settings)
                console.print(_summary(info, settings, mode))
                console.print("Press Ctrl-C to stop.")
                while True:
                    supervisor.tick()
                    time.sleep(0.5)
        except KeyboardInterrupt:
            console.print("stopping: workers finish their current image first…")

    @app.command()
    def api(host: HostOpt = None, port: PortOpt = None) -> None:
        """Run the API server alone (what the API container runs)."""
        import uvicorn

        from api.app import create_app
        from api.head_limit import bounded_http
        from cli.api_server import AFTER_DRAIN_S, DrainingServer

        settings = _settings(host, port)
        _access(settings)  # before binding: create_app would refuse the same way
        configure_logging(settings, "api")
        redis_url = _require_redis(settings)
        try:  # bound here, so a taken port is one line and exit code 1, not a hang
            listener = bind_listener(settings.host, settings.port)
        except PreflightFailed as failed:
            console.print(f"[red]{failed}[/]")
            raise typer.Exit(1) from None
        server_app = create_app(settings, redis_url)
        config = uvicorn.Config(
            server_app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=AFTER_DRAIN_S,
            http=bounded_http(settings.max_header_bytes),  # SDQ_MAX_HEADER_BYTES
        )
        # SIGTERM drains first (SDQ_SHUTDOWN_GRACE_S), then uvicorn stops; see cli/api_server.py.
        DrainingServer(config, server_app.state.sdq_drain).run(sockets=[listener])

    @app.command()
    def worker(
        model: Annotated[str, typer.Option("--model", help="The served model id to work for.")],
    ) -> None:
        """Run one GPU worker for one model (what the worker container runs)."""
        from worker.celery_worker import run_worker

        settings = _settings()
        run_worker(settings, _require_redis(settings), model)

    @app.command()
    def webhooks() -> None:
        """Run the webhook sender (CPU only): signs, delivers and retries webhook calls."""
        from webhooks.service import run_webhook_service

        settings = _settings()
        run_webhook_service(settings, _require_redis(settings))

    @app.command()
    def scaler() -> None:
        """Run the scaler: each served model's workers follow its queued + in-flight work, from
        zero and back, as local processes or Kubernetes Deployments (SDQ_SCALER_ACTUATOR)."""
        from scaler.run import run_scaler

        settings = _settings()
        configure_logging(settings, "scaler")
        run_scaler(settings, _require_redis(settings))

    @app.command("webhook-secret")
    def webhook_secret_command() -> None:
        """Print the whsec_ secret webhooks are signed with (to configure receivers)."""
        from webhooks.secret import webhook_secret

        typer.echo(webhook_secret(_settings()))

    @app.command()
    def demo(
        out: Annotated[Path, typer.Option(help="Where to write the image.")] = Path("demo.png"),
        prompt: Annotated[str, typer.Option(help="What to draw.")] = "a pretty dog",
        data_dir: DataDirOpt = None,
        port: Annotated[
            int | None, typer.Option(help="Port to listen on (unset: a free one).")
        ] = None,
        log_level: LogLevelOpt = None,
    ) -> None:
        """Start the stack, generate one image with the tiny model, write it to disk, stop."""
        from cli.embedded_redis import free_port
        from cli.job_progress import follow_job, say_quarters

        settings = _settings(port=port or free_port(), data_dir=data_dir)
        settings = _with_log_level(settings, log_level)
        _access(settings)
        configure_logging(settings, "demo", console=True)
        with contextlib.ExitStack() as exits:
            info, supervisor = _enter_stack(exits, settings)
            client = _wait_ready(info, supervisor, settings)
            model_id = settings.models[0].id
            inputs = {"prompt": prompt, "width": 512, "height": 512, "num_inference_steps": 20}
            with console.status(f"starting a {model_id} worker, generating {prompt!r}…"):
                started = time.perf_counter()
                prediction = follow_job(client, client.create(model_id, inputs), say_quarters(_say))
            if prediction["status"] != "succeeded":
                console.print(f"[red]prediction {prediction['status']}: {prediction['error']}[/]")
                raise typer.Exit(1)
            elapsed = time.perf_counter() - started
            client.download(prediction["output"][0], out)
            client.close()
        console.print(
            f"[green]wrote {out.resolve()}[/] ({prediction['id']}, "
            f"worker start and queue {prediction['metrics']['queue_wait']:.2f} s, "
            f"pipeline {prediction['metrics']['predict_time']:.2f} s, end to end {elapsed:.2f} s)",
            soft_wrap=True,  # one line, whatever the width: a path to copy, a line to grep
        )
