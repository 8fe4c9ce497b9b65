"""Bus subscriptions of the gateway (live updates and notifications arrive with later issues)."""

from tt_runtime.bus import Handlers

handlers = Handlers("gateway")
