"""Server-rendered pages. The full UI arrives with the identity/UI issue; for now, the status page."""

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from .deps import RuntimeDep, SettingsDep
from .system_status import system_status

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, runtime: RuntimeDep, settings: SettingsDep) -> HTMLResponse:
    status = await system_status(runtime, settings.status_timeout_seconds)
    return templates.TemplateResponse(request, "status.html", {"status": status})
