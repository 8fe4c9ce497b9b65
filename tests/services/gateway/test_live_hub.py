"""The gateway's live hub: fan-out by topic, a bounded queue per subscriber, nothing left behind."""

import asyncio

import pytest

from tt_gateway.live import LiveHub, quote_topic, user_topic


async def test_each_subscriber_gets_the_topics_it_asked_for():
    hub = LiveHub()
    async with (
        hub.subscribe(user_topic("a"), quote_topic("capitalcom", "EURUSD")) as both,
        hub.subscribe(user_topic("b")) as other,
    ):
        assert hub.publish(user_topic("a"), "filled") == 1
        assert hub.publish(quote_topic("capitalcom", "EURUSD"), 1.1) == 1
        assert hub.publish(user_topic("b"), "rejected") == 1
        assert await both.get(1) == (user_topic("a"), "filled")
        assert await both.get(1) == ("quote:capitalcom:EURUSD", 1.1)
        assert await other.get(1) == (user_topic("b"), "rejected")
        with pytest.raises(TimeoutError):
            await both.get(0.05)


async def test_a_slow_subscriber_loses_the_oldest_updates_not_the_newest():
    hub = LiveHub(maxsize=3)
    async with hub.subscribe("t") as slow:
        for i in range(5):
            hub.publish("t", i)
        assert slow.dropped == 2
        assert [(await slow.get(1))[1] for _ in range(3)] == [2, 3, 4]


async def test_leaving_unsubscribes_even_on_error():
    hub = LiveHub()
    with pytest.raises(asyncio.CancelledError):
        async with hub.subscribe("t"):
            raise asyncio.CancelledError
    assert hub.publish("t", "nobody listens") == 0
