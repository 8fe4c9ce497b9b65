"""A faithful local stand-in for the Capital.com REST and WebSocket API (see the sandbox README)."""

from .accounts import AccountCredentials
from .config import RateLimits, SimulatorConfig
from .faults import FaultSettings
from .simulator import DEMO_USERS, ServerUrls, Simulator

__all__ = [
    "DEMO_USERS",
    "AccountCredentials",
    "FaultSettings",
    "RateLimits",
    "ServerUrls",
    "Simulator",
    "SimulatorConfig",
]
