"""Typed dependencies for routes (full-stack-fastapi-template's ``deps.py`` shape)."""

from typing import Annotated

from fastapi import Depends, Request

from tt_runtime.service import ServiceRuntime

from .settings import Settings


def get_runtime(request: Request) -> ServiceRuntime:
    return request.app.state.runtime


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
