"""Use cases of the broker service, wired together in ``BrokerService``."""

from __future__ import annotations

from tt_runtime.service import ServiceRuntime

from ..settings import Settings
from .accounts import Accounts
from .commands import Commands
from .context import Context
from .executor import Executor
from .monitor import Monitor
from .protection import EmulatedProtection
from .queries import Queries
from .risk import RiskLimitsService


class BrokerService:
    def __init__(self, runtime: ServiceRuntime, settings: Settings) -> None:
        self.ctx = Context(runtime, settings)
        self.executor = Executor(self.ctx)
        self.accounts = Accounts(self.ctx)
        self.commands = Commands(self.ctx, self.executor.wake)
        self.protection = EmulatedProtection(self.ctx, self.executor)
        self.monitor = Monitor(self.ctx, self.executor, self.protection)
        self.queries = Queries(self.ctx)
        self.risk = RiskLimitsService(self.ctx)

    async def start(self) -> None:
        self.executor.running = True
        await self.protection.load()
        await self.monitor.recover()
        if self.ctx.settings.background:
            self.monitor.start()

    async def stop(self) -> None:
        await self.monitor.stop()
        await self.protection.stop()
        await self.executor.stop()
        await self.ctx.close()


__all__ = ["BrokerService"]
