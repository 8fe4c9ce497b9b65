"""End to end over real NATS (and Postgres for the runtime's dead letters): command in → candles
asked from market-data (played by this test on a real runtime) → PNG stored → event out."""

import asyncio
import base64
import io
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy
from PIL import Image

from tt_chart_render.adapters.storage import LocalObjectStore
from tt_chart_render.app import build
from tt_chart_render.settings import Settings
from tt_chart_render.testing import FakeMarketData
from tt_contracts import registry
from tt_contracts.chart_render import Annotation, ChartFailed, ChartRendered, GetChart, RenderChart
from tt_contracts.common import IndicatorSpec, InstrumentRef, Timeframe
from tt_runtime.client import RemoteError, ask
from tt_runtime.service import ServiceRuntime
from tt_runtime.testing import running, service_settings, wait_until

COMMAND = registry.CHART_RENDER.subject.render()
END = datetime(2026, 3, 2, 12, tzinfo=UTC)


def command(symbol="EURUSD", indicators=(("SMA", {"timeperiod": 20}), ("RSI", {})), **over) -> RenderChart:
    values = dict(
        request_id=uuid4(),
        user_id=uuid4(),
        instrument=InstrumentRef(symbol=symbol),
        timeframe=Timeframe.H1,
        end=END,
        bars=80,
        indicators=[IndicatorSpec(name=n, params=p) for n, p in indicators],
        annotations=[Annotation(kind="stop", price="1.05", text="SL")],
        width=640,
        height=420,
    )
    values.update(over)
    return RenderChart(**values)


@asynccontextmanager
async def stack(nats_url, database_url, tmp_path):
    market = FakeMarketData()
    md = ServiceRuntime(service_settings("market-data", nats_url, database_url))
    md.include(market.handlers())
    settings = service_settings(
        "chart-render", nats_url, database_url, cls=Settings, render_workers=1, max_deliver=3
    )
    chart = build(settings, store=LocalObjectStore(tmp_path / "objects"))
    try:
        async with running(md, chart.runtime):
            yield market, chart
    finally:
        await chart.pool.stop()


class Events:
    """Every event chart-render published, read back from its stream."""

    def __init__(self, js):
        self.js = js
        self.seen: list = []

    async def start(self):
        self.sub = await self.js.pull_subscribe(
            "chart-render.evt.>",
            durable="test-events",
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
        )
        return self

    async def poll(self) -> list:
        try:
            for msg in await self.sub.fetch(50, timeout=0.2):
                model = ChartRendered if ".rendered." in msg.subject else ChartFailed
                self.seen.append(model.model_validate_json(msg.data))
                await msg.ack()
        except TimeoutError:
            pass
        return self.seen

    async def for_request(self, request_id, timeout=30.0):
        async def found():
            return [e for e in await self.poll() if e.request_id == request_id]

        await wait_until(found, timeout=timeout, interval=0.1)
        return [e for e in self.seen if e.request_id == request_id]


async def send(js, cmd: RenderChart, msg_id=None):
    await js.publish(
        COMMAND, cmd.model_dump_json().encode(), headers={"Nats-Msg-Id": msg_id or str(cmd.message_id)}
    )


async def test_command_in_object_stored_event_out_and_readable(nats_url, database_url, jetstream, tmp_path):
    async with stack(nats_url, database_url, tmp_path) as (market, chart):
        events = await Events(jetstream).start()
        cmd = command()
        await send(jetstream, cmd)
        [event] = await events.for_request(cmd.request_id)
        assert isinstance(event, ChartRendered)
        assert event.user_id == cmd.user_id and event.causation_id == cmd.message_id
        assert (event.width, event.height) == (640, 420)
        stored = (tmp_path / "objects" / event.object_key).read_bytes()
        assert len(stored) == event.size_bytes and Image.open(io.BytesIO(stored)).size == (640, 420)
        assert event.object_key.endswith(event.content_hash + ".png")
        # The candles were asked with the indicators' warm-up on top of the visible bars.
        assert market.requests[-1].limit == 80 + 3 * 15 and market.requests[-1].end == END
        # The read path: the gateway asks for the bytes by key.
        reply = await ask(chart.runtime.broker, registry.CHART_GET, GetChart(object_key=event.object_key))
        assert base64.b64decode(reply.data_base64) == stored
        with pytest.raises(RemoteError, match="not_found"):
            await ask(
                chart.runtime.broker,
                registry.CHART_GET,
                GetChart(object_key="charts/00/" + "0" * 64 + ".png"),
            )


async def test_redelivered_command_yields_the_same_key_and_one_object(
    nats_url, database_url, jetstream, tmp_path
):
    async with stack(nats_url, database_url, tmp_path) as (market, chart):
        events = await Events(jetstream).start()
        cmd = command()
        await send(jetstream, cmd)
        [first] = await events.for_request(cmd.request_id)
        # The same command again past JetStream's duplicate window (a new Nats-Msg-Id) = a redelivery.
        await send(jetstream, cmd, msg_id=str(uuid4()))
        await asyncio.sleep(0.3)
        await wait_until(lambda: _drained(jetstream), timeout=20)
        # Once more with the in-memory memo forgotten (a restarted replica): found in the store.
        chart.charts._memo.clear()
        await send(jetstream, cmd, msg_id=str(uuid4()))
        await wait_until(lambda: len(market.requests) == 2, timeout=20)
        await asyncio.sleep(0.3)
        await wait_until(lambda: _drained(jetstream), timeout=20)
        # A different request for the same chart: same content, same key, not drawn again.
        other = RenderChart(**{**cmd.model_dump(), "message_id": uuid4(), "request_id": uuid4()})
        await send(jetstream, other)
        [again] = await events.for_request(other.request_id)
        await asyncio.sleep(0.3)
        await events.poll()
    assert again.object_key == first.object_key and again.content_hash == first.content_hash
    same_request = [e for e in events.seen if e.request_id == cmd.request_id]
    assert len(same_request) == 1, "the re-announcement has the same message id: JetStream absorbed it"
    assert chart.charts.renders == 1, "drawn once, then served from the store"
    assert len([p for p in (tmp_path / "objects").rglob("*.png")]) == 1


async def _drained(js) -> bool:
    info = await js.consumer_info("CHART_RENDER_CMD", "chart-render__chart-render_cmd_chart_render_v1")
    return info.num_pending == 0 and info.num_ack_pending == 0


async def test_bad_input_fails_cleanly_and_the_service_keeps_working(
    nats_url, database_url, jetstream, tmp_path
):
    async with stack(nats_url, database_url, tmp_path) as (market, chart):
        events = await Events(jetstream).start()
        market.available["YOUNG"] = 8
        unknown = command(indicators=(("FOO", {}),))
        bad_param = command(indicators=(("RSI", {"timeperiod": 1}),))
        too_few = command(symbol="YOUNG")
        for cmd in (unknown, bad_param, too_few):
            await send(jetstream, cmd)
        await jetstream.publish(COMMAND, b'{"not": "a command"}', headers={"Nats-Msg-Id": str(uuid4())})
        reasons = {}
        for cmd in (unknown, bad_param, too_few):
            [event] = await events.for_request(cmd.request_id)
            assert isinstance(event, ChartFailed)
            reasons[cmd.request_id] = event.reason
        assert "unknown indicator 'FOO'" in reasons[unknown.request_id]
        assert "outside" in reasons[bad_param.request_id]
        assert "too few candles" in reasons[too_few.request_id]
        # The malformed message is dead-lettered, not dropped and not fatal.
        await wait_until(chart.runtime.dead_letters.count_open, timeout=10)
        letters = await chart.runtime.dead_letters.list()
        assert len(letters) == 1 and letters[0].deliveries == 1
        good = command()
        await send(jetstream, good)
        [event] = await events.for_request(good.request_id)
        assert isinstance(event, ChartRendered)
        assert len(market.requests) == 2, "invalid indicators are refused before asking market-data"


async def test_a_user_reads_only_charts_rendered_at_their_request(
    nats_url, database_url, jetstream, tmp_path
):
    alice, bob = uuid4(), uuid4()
    async with stack(nats_url, database_url, tmp_path) as (_, chart):
        events = await Events(jetstream).start()
        cmd = command(user_id=alice)
        await send(jetstream, cmd)
        [event] = await events.for_request(cmd.request_id)
        key = event.object_key

        async def get(user_id, object_key=key):
            return await ask(
                chart.runtime.broker, registry.CHART_GET, GetChart(object_key=object_key, user_id=user_id)
            )

        # Recorded before the event went out: the requester can fetch it as soon as they hear of it.
        assert (await get(alice)).size_bytes == event.size_bytes
        assert (await get(None)).size_bytes == event.size_bytes  # internal callers pass no user
        chart.charts.owners._recorded.clear()  # as on another replica: the table answers
        assert (await get(alice)).size_bytes == event.size_bytes
        with pytest.raises(RemoteError) as other:
            await get(bob)
        with pytest.raises(RemoteError) as missing:
            await get(alice, "charts/00/" + "0" * 64 + ".png")
        # Another user's chart answers exactly as a key that does not exist: keys cannot be probed.
        assert other.value.code == missing.value.code == "not_found"
        assert other.value.detail.message.replace(key, "K") == missing.value.detail.message.replace(
            "charts/00/" + "0" * 64 + ".png", "K"
        )

        # Bob asking for the same chart gets the same object, and from then on may read it.
        again = command(user_id=bob)
        await send(jetstream, again)
        [second] = await events.for_request(again.request_id)
        assert second.object_key == key and (await get(bob)).size_bytes == event.size_bytes
