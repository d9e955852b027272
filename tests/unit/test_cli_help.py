"""`sdq … --help` reads as a manual: defaults shown (or what unset means), no internal type names,
and `sdq scaling set --help` lists every policy knob with its meaning."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import typer
from typer.core import TyperGroup, TyperOption
from typer.testing import CliRunner

from cli import app
from sdq.scaling_policy import ScalingPolicy

runner = CliRunner()


def command_paths(command: object, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command and subcommand of the CLI, as the words that name it."""
    yield path
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            yield from command_paths(sub, (*path, name))


def commands() -> list[tuple[str, ...]]:
    return list(command_paths(typer.main.get_command(app)))


def help_of(path: tuple[str, ...], columns: int = 100) -> str:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.output


def options(path: tuple[str, ...]) -> list[TyperOption]:
    command = typer.main.get_command(app)
    for name in path:
        assert isinstance(command, TyperGroup)
        command = command.commands[name]
    return [p for p in command.params if isinstance(p, TyperOption)]


def test_every_command_is_covered() -> None:
    expected = {("submit",), ("up",), ("scaling", "set"), ("models", "make-tiny")}
    expected |= {("keys", "create"), ("keys", "list"), ("keys", "revoke")}
    assert expected <= set(commands())


@pytest.mark.parametrize("path", commands(), ids=lambda p: " ".join(p) or "sdq")
def test_help_names_no_internal_types(path: tuple[str, ...]) -> None:
    text = help_of(path)
    for internal in ("list[", "<bool>", "NoneType", "Optional", "Union"):
        assert internal not in text, f"`{internal}` in `sdq {' '.join(path)} --help`:\n{text}"


@pytest.mark.parametrize("path", commands(), ids=lambda p: " ".join(p) or "sdq")
def test_options_without_a_default_say_what_unset_means(path: tuple[str, ...]) -> None:
    for option in options(path):
        if option.is_flag or option.required or option.hidden or option.default is not None:
            continue
        assert "unset" in (option.help or ""), f"{option.opts} of `sdq {' '.join(path)}`"


def test_command_list_keeps_each_summary_in_one_flow() -> None:
    text = help_of(())
    assert "the API, the webhook sender" in " ".join(text.replace("│", " ").split())
    lines = [line.strip("│ ") for line in text.splitlines()]
    assert "the" not in lines, "a docstring line break shows as a short line"


def test_submit_help_shows_defaults_and_the_progress_switch() -> None:
    text = help_of(("submit",))
    for shown in ("[default: 512]", "[default: sdq/tiny]", "--no-progress", "unset"):
        assert shown in text


def test_scaling_set_help_lists_every_knob_with_its_meaning() -> None:
    text = " ".join(help_of(("scaling", "set"), columns=200).replace("│", " ").split())
    for name, field in ScalingPolicy.model_fields.items():
        assert field.description is not None
        assert f"{name} {field.description}" in text or f"{name}: {field.description}" in text


@pytest.mark.parametrize("path", [("keys",), ("scaling",)])
def test_admin_commands_say_where_the_key_comes_from(path: tuple[str, ...]) -> None:
    text = " ".join(help_of(path, columns=200).replace("│", " ").split())
    assert "SDQ_API_KEY" in text and "SDQ_ADMIN_KEY" in text


@pytest.mark.parametrize("path", [p for p in commands() if p[:1] in (("keys",), ("scaling",))])
def test_no_command_takes_a_secret_or_an_actor_on_the_command_line(path: tuple[str, ...]) -> None:
    """Shell history and `ps` keep arguments: keys come from the environment; the change log
    names the key, not a claimed actor."""
    names = {opt for option in options(path) for opt in option.opts}
    assert not names & {"--key", "--api-key", "--admin-key", "--token", "--actor"}, names
