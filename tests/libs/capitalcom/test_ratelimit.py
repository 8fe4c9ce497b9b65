import asyncio

from tt_capitalcom import RateLimit, TokenBucket


class SteppedTime:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    async def sleep(self, seconds):
        self.now += seconds


async def test_trade_bucket_spaces_requests_a_tenth_of_a_second_apart():
    time = SteppedTime()
    bucket = TokenBucket(RateLimit(rate=10, burst=1), clock=time, sleep=time.sleep)
    stamps = []
    for _ in range(5):
        await bucket.acquire()
        stamps.append(round(time.now, 6))
    assert stamps == [0.0, 0.1, 0.2, 0.3, 0.4]


async def test_burst_is_served_at_once_then_the_rate_applies():
    time = SteppedTime()
    bucket = TokenBucket(RateLimit(rate=10, burst=5), clock=time, sleep=time.sleep)
    stamps = []
    for _ in range(7):
        await bucket.acquire()
        stamps.append(round(time.now, 6))
    assert stamps == [0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.2]


async def test_tokens_refill_while_idle_but_never_beyond_the_burst():
    time = SteppedTime()
    bucket = TokenBucket(RateLimit(rate=1, burst=2), clock=time, sleep=time.sleep)
    await bucket.acquire()
    await bucket.acquire()
    time.now = 100.0
    await bucket.acquire()
    await bucket.acquire()
    assert time.now == 100.0
    await bucket.acquire()
    assert time.now == 101.0


async def test_concurrent_callers_are_serialised_in_arrival_order():
    time = SteppedTime()
    bucket = TokenBucket(RateLimit(rate=1, burst=1), clock=time, sleep=time.sleep)
    order = []

    async def caller(name):
        await bucket.acquire()
        order.append((name, time.now))

    await asyncio.gather(*(caller(n) for n in "abc"))
    assert order == [("a", 0.0), ("b", 1.0), ("c", 2.0)]
