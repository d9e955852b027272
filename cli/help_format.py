"""How `sdq … --help` reads: flags and repeated arguments without typer's type labels (`<bool>`,
`<list[str]>`), and each command's summary in the command list as one flowing paragraph."""

from __future__ import annotations

import inspect
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption


class _RepeatedArgument(TyperArgument):
    """An argument given one or more times, named by its metavar alone."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


def _plain(params: list[Any]) -> list[Any]:
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""  # a flag takes no value, so it has no type to show
        elif isinstance(param, TyperArgument) and param.nargs != 1:
            param.__class__ = _RepeatedArgument
    return params


class SdqCommand(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _plain(super().get_params(ctx))


class SdqGroup(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _plain(super().get_params(ctx))


def _summary(doc: str) -> str:
    """A docstring's first paragraph on one line (typer keeps its line breaks in the list)."""
    return " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())


def _unchosen(cls: object, default: type) -> bool:
    """No class was chosen: typer's default, or its placeholder for "not set"."""
    return not isinstance(cls, type) or cls is default


def tidy_help(app: typer.Typer) -> None:
    """Render the help of `app`, its commands and its sub-apps the way described above."""
    if _unchosen(app.info.cls, TyperGroup):
        app.info.cls = SdqGroup
    for command in app.registered_commands:
        if _unchosen(command.cls, TyperCommand):
            command.cls = SdqCommand
        doc = command.help or (command.callback.__doc__ if command.callback else None)
        if command.short_help is None and doc:
            command.short_help = _summary(doc)
    for group in app.registered_groups:
        if _unchosen(group.cls, TyperGroup):
            group.cls = SdqGroup
        if group.typer_instance is not None:
            tidy_help(group.typer_instance)
