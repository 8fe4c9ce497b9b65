"""The simulator every broker test trades against; a module may pin its seed with ``SIM_SEED``."""

import pytest

from tt_sandbox.capitalcom import RateLimits, Simulator, SimulatorConfig


@pytest.fixture
async def sim(request):
    simulator = Simulator(
        SimulatorConfig(
            seed=getattr(request.module, "SIM_SEED", 11),
            clock="stepped",
            seed_demo_users=False,
            rate_limits=RateLimits(None, None, None, None, None, None),
        )
    )
    async with simulator.serve() as urls:
        simulator.urls = urls
        yield simulator
