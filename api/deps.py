"""Typed FastAPI dependencies: the app state and the base URL links are built from."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.state import ApiState


def get_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.sdq
    return state


def get_base_url(request: Request) -> str:
    state: ApiState = request.app.state.sdq
    return (state.settings.public_url or str(request.base_url)).rstrip("/")


State = Annotated[ApiState, Depends(get_state)]
BaseUrl = Annotated[str, Depends(get_base_url)]
