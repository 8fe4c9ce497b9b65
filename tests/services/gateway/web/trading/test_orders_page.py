"""Orders & positions over HTTP: the ticket checked against dealing rules before anything is sent, a
market order with a stop-loss becoming a position with its protection status, closing it, and the
page's live stream delivering the position event."""

from __future__ import annotations

import re

import httpx

from tt_runtime.testing import wait_until

ORDER_PLACE = "broker.cmd.order.place.v1"


async def connect(ada, stack) -> str:
    creds = stack.sim.create_account(hedging=True)
    done = await ada.post(
        "/brokers/connect",
        {"identifier": creds.identifier, "api_key": creds.api_key, "api_key_password": creds.password},
    )
    assert done.status_code == 303, done.text[:300]
    return (await ada.api("GET", "/accounts")).json()["accounts"][0]["account_id"]


def ticket(page: httpx.Response, **values: str) -> dict[str, str]:
    found = re.search(
        r'action="/orders/ticket".*?name="account" value="([^"]+)".*?name="idempotency_key" value="([^"]+)"',
        page.text,
        re.S,
    )
    assert found, "the ticket carries its account and a fresh idempotency key"
    return {
        "account": found.group(1),
        "idempotency_key": found.group(2),
        "side": "BUY",
        "order_type": "MARKET",
        **values,
    }


async def positions(ada, account_id: str) -> list[dict]:
    return (await ada.api("GET", "/positions", params={"account_id": account_id})).json()["positions"]


async def test_ticket_below_the_minimum_size_is_refused_before_sending(trading_stack, trader):
    async with trading_stack() as stack, trader(stack, "ada@example.com") as ada:
        account_id = await connect(ada, stack)
        page = await ada.get(f"/orders?account={account_id}&symbol=EURUSD")
        assert page.status_code == 200 and "min size 100" in page.text, "the form shows the dealing rules"
        hint = await ada.get("/orders/rules?symbol=GBPUSD")
        assert 'id="ticket-rules"' in hint.text and "GBP/USD" in hint.text and "step 1" in hint.text

        small = await ada.post("/orders/ticket", ticket(page, symbol="EURUSD", size="1"))
        assert small.status_code == 422
        assert (
            "Nothing was sent" in small.text and "The minimum size for this instrument is 100." in small.text
        )
        assert 'id="f-size" name="size" type="text" value="1"' in small.text, "the typed size is kept"
        assert 'aria-invalid="true" aria-describedby="f-size-error"' in small.text
        close_stop = await ada.post(
            "/orders/ticket", ticket(page, symbol="EURUSD", size="1000", stop_distance="0.00001")
        )
        assert close_stop.status_code == 422 and "at least 0.0005 away" in close_stop.text
        unknown = await ada.post("/orders/ticket", ticket(page, symbol="NOSUCH", size="1000"))
        assert unknown.status_code == 422 and "We do not know this instrument" in unknown.text
        working = await ada.post(
            "/orders/ticket", ticket(page, symbol="EURUSD", size="1000", order_type="LIMIT")
        )
        assert working.status_code == 422 and "Enter the level." in working.text
        api = await ada.api(
            "POST",
            "/orders",
            json={"account_id": account_id, "symbol": "EURUSD", "side": "BUY", "size": "1"},
            headers={"Idempotency-Key": "api-key-small-1"},
        )
        assert api.status_code == 422 and "minimum size" in api.json()["error"]["message"]

        assert ORDER_PLACE not in await stack.outbox_subjects(), "nothing was sent"
        assert (await ada.api("GET", "/intents")).json()["intents"] == []


async def test_market_order_with_stop_loss_opens_a_protected_position_then_closes(trading_stack, trader):
    async with trading_stack() as stack, trader(stack, "ada@example.com") as ada:
        account_id = await connect(ada, stack)
        page = await ada.get(f"/orders?account={account_id}")
        assert "Balance" in page.text and "Circuit breaker" in page.text
        form = ticket(page, symbol="EURUSD", size="1000", stop_distance="0.0050")
        sent = await ada.post("/orders/ticket", form)
        assert sent.status_code == 303 and f"sent={form['idempotency_key']}" in sent.headers["location"]
        again = await ada.post("/orders/ticket", form)  # a double submit carries the same key
        assert again.status_code == 303

        await wait_until(lambda: _has_positions(ada, account_id), timeout=20)
        [position] = await positions(ada, account_id)
        assert position["size"].rstrip("0").rstrip(".") == "1000" and position["side"] == "BUY"
        assert position["protection_status"] in ("native", "emulated")
        intents = (await ada.api("GET", "/intents")).json()["intents"]
        assert len(intents) == 1, "one intent for the double submit"

        shown = await ada.get(f"/orders?account={account_id}&sent={form['idempotency_key']}")
        assert "Sent to the broker: accepted." in shown.text
        row = re.search(rf'<tr data-position="{position["position_id"]}">.*?</tr>', shown.text, re.S).group(0)
        assert "EURUSD" in row and ">1000<" in row
        assert re.search(r">(native|emulated)<span class=\"visually-hidden\"> protection", row)
        # the stop as sent (a distance) or as the venue holds it (a level), once the monitor has polled
        assert re.search(r"stop (−0\.005|1\.0\d+)<", row), row

        close_key = re.search(
            r'name="idempotency_key" value="([^"]+)">\s*<label class="visually-hidden" for="close-', row
        ).group(1)
        closed = await ada.post(
            f"/orders/positions/{position['position_id']}/close",
            {"account": account_id, "idempotency_key": close_key, "size": ""},
        )
        assert closed.status_code == 303
        await wait_until(lambda: _no_positions(ada, account_id), timeout=20)
        after = await ada.get(f"/orders?account={account_id}")
        assert "No open positions." in after.text


async def _has_positions(ada, account_id: str) -> bool:
    return bool(await positions(ada, account_id))


async def _no_positions(ada, account_id: str) -> bool:
    return not await positions(ada, account_id)


async def test_the_live_stream_delivers_the_position_event(trading_stack, trader):
    async with trading_stack() as stack, trader(stack, "ada@example.com") as ada:
        account_id = await connect(ada, stack)
        page = await ada.get(f"/orders?account={account_id}")
        assert f'hx-sse:connect="/orders/events?account={account_id}"' in page.text
        messages: list[str] = []
        async with ada.http.stream("GET", f"/orders/events?account={account_id}", timeout=30) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            messages.append(await _next_message(lines))
            assert 'id="live-state"' in messages[0] and "live" in messages[0], "subscribed"
            form = ticket(page, symbol="GBPUSD", size="500", side="SELL")
            assert (await ada.post("/orders/ticket", form)).status_code == 303
            while not any("Position opened" in m for m in messages):
                messages.append(await _next_message(lines))
        opened = next(m for m in messages if "Position opened" in m)
        assert "SELL 500 GBPUSD" in opened
        assert (
            'id="positions-table" hx-swap-oob="true"' in opened
            and "GBPUSD" in opened.split("positions-table")[1]
        )


async def _next_message(lines) -> str:
    data: list[str] = []
    async for line in lines:
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif line == "" and data:
            return "\n".join(data)
    raise AssertionError("the stream ended")
