"""Subscriptions of the billing service: thin, parse → call the use case → return.

The status request is answered by the runtime. The domain flows this service owns arrive with
their issues; each is declared here against a contract route (see tt_runtime.bus.Handlers).
"""

from tt_runtime.bus import Handlers

handlers = Handlers("billing")
