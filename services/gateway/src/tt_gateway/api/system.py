"""``/api/v1/system``: platform health for operators and the UI."""

from fastapi import APIRouter

from ..deps import RuntimeDep, SettingsDep
from ..system_status import SystemStatus, system_status

router = APIRouter(prefix="/system", tags=["system"])


@router.get("/status", response_model=SystemStatus, summary="Status of every service, asked over the bus")
async def get_system_status(runtime: RuntimeDep, settings: SettingsDep) -> SystemStatus:
    return await system_status(runtime, settings.status_timeout_seconds)
