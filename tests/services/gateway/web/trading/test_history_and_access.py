"""History with filters and its CSV export; the JSON API (idempotent commands); one user never sees
another's accounts, positions or intents; the pages follow the CSP and accessibility rules;
the onboarding broker step."""

from __future__ import annotations

import csv
import io
import re

import httpx

from tt_runtime.testing import wait_until


async def connect(ada, stack) -> str:
    creds = stack.sim.create_account(hedging=True)
    done = await ada.post(
        "/brokers/connect",
        {"identifier": creds.identifier, "api_key": creds.api_key, "api_key_password": creds.password},
    )
    assert done.status_code == 303, done.text[:300]
    return (await ada.api("GET", "/accounts")).json()["accounts"][0]["account_id"]


async def place(ada, key: str, **body) -> httpx.Response:
    return await ada.api("POST", "/orders", json=body, headers={"Idempotency-Key": key})


async def settled(ada, count: int) -> bool:
    intents = (await ada.api("GET", "/intents")).json()["intents"]
    return len(intents) == count and all(i["state"] in ("ACCEPTED", "REJECTED") for i in intents)


async def test_history_filters_and_csv_export(page_rules, trading_stack, trader):
    async with trading_stack() as stack, trader(stack, "ada@example.com") as ada:
        account_id = await connect(ada, stack)
        eur = await place(ada, "hist-eur-1", account_id=account_id, symbol="EURUSD", side="BUY", size="1000")
        assert eur.status_code == 202, eur.text
        gbp = await place(ada, "hist-gbp-1", account_id=account_id, symbol="GBPUSD", side="SELL", size="1500")
        assert gbp.status_code == 202
        await wait_until(lambda: settled(ada, 2), timeout=20)

        everything = await ada.get("/orders/history")
        assert everything.status_code == 200 and "2 intents" in everything.text
        assert "<summary>" in everything.text and "Venue replies" in everything.text
        page_rules(everything)
        gbp_only = await ada.get("/orders/history?instrument=GBPUSD")
        assert "1 intent." in gbp_only.text and "GBPUSD" in gbp_only.text and ">EURUSD<" not in gbp_only.text
        sells = await ada.get(f"/orders/history?side=SELL&account={account_id}")
        assert "1 intent." in sells.text and "GBPUSD" in sells.text
        placed = await ada.get(f"/orders/history?account={account_id}&kind=place&status=ACCEPTED")
        assert "2 intents" in placed.text
        paper_only = await ada.get("/orders/history?account=paper")
        assert "No intents match." in paper_only.text
        none_yet = await ada.get("/orders/history?until=2001-01-01")
        assert "No intents match." in none_yet.text
        bad = await ada.get("/orders/history?since=yesterday&side=UP")
        assert bad.status_code == 422 and "Enter a date like" in bad.text and "Choose buy or sell" in bad.text

        export = await ada.get("/orders/history.csv?instrument=GBPUSD")
        assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
        assert re.match(
            r'attachment; filename="order-history-\d{8}-\d{6}\.csv"', export.headers["content-disposition"]
        )
        rows = list(csv.DictReader(io.StringIO(export.text)))
        assert len(rows) == 1
        [row] = rows
        assert row["instrument"] == "GBPUSD" and row["side"] == "SELL" and row["size"] == "1500"
        assert row["kind"] == "place" and row["state"] == "ACCEPTED" and row["account"] == account_id
        assert row["idempotency_key"] == "hist-gbp-1"
        assert "/orders/history.csv?instrument=GBPUSD" in gbp_only.text, "the export keeps the filters"


async def test_api_commands_are_idempotent_and_documented(trading_stack, trader):
    async with trading_stack() as stack, trader(stack, "ada@example.com") as ada:
        account_id = await connect(ada, stack)
        body = {
            "account_id": account_id,
            "symbol": "EURUSD",
            "side": "BUY",
            "size": "1000",
            "protection": {"stop_distance": "0.0100"},
        }
        first = await place(ada, "api-order-0001", **body)
        second = await place(ada, "api-order-0001", **body)  # a client retry
        assert first.status_code == second.status_code == 202
        assert first.json()["idempotency_key"] == second.json()["idempotency_key"]
        missing = await ada.api("POST", "/orders", json=body)
        assert missing.status_code == 422
        await wait_until(lambda: settled(ada, 1), timeout=20)
        positions = (await ada.api("GET", "/positions", params={"account_id": account_id})).json()[
            "positions"
        ]
        assert len(positions) == 1, "the retry did not trade twice"
        assert (await ada.api("GET", "/positions", params={"account_id": "paper"})).json()["positions"] == []
        assert (await ada.api("GET", "/orders")).json()["orders"] == []
        assert (await ada.api("GET", "/positions", params={"account_id": "nope"})).status_code == 422

        anonymous = await httpx.AsyncClient(base_url=stack.url).get("/api/v1/positions")
        assert anonymous.status_code == 401
        spec = (await ada.http.get("/api/v1/openapi.json")).json()
        for path in ["/api/v1/accounts", "/api/v1/positions", "/api/v1/orders", "/api/v1/intents"]:
            assert path in spec["paths"]
        post = spec["paths"]["/api/v1/orders"]["post"]
        assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in post["parameters"])


async def test_one_user_never_sees_another_users_trading(trading_stack, trader):
    async with trading_stack() as stack, trader(stack, "ada@example.com") as ada:
        account_id = await connect(ada, stack)
        placed = await place(
            ada, "iso-ada-0001", account_id=account_id, symbol="EURUSD", side="BUY", size="1000"
        )
        assert placed.status_code == 202
        await wait_until(lambda: settled(ada, 1), timeout=20)
        [position] = (await ada.api("GET", "/positions")).json()["positions"]

        async with trader(stack, "bob@example.com") as bob:
            for path in ["/brokers", "/orders", "/orders/history", "/orders/history.csv"]:
                page = await bob.get(path)
                assert page.status_code == 200, path
                assert account_id not in page.text and position["position_id"] not in page.text, path
            for path in ["/accounts", "/positions", "/orders", "/intents"]:
                answer = (await bob.api("GET", path)).json()
                assert answer == {path.strip("/"): []}, path
            assert (await bob.api("GET", "/positions", params={"account_id": account_id})).json()[
                "positions"
            ] == []
            assert (await bob.get(f"/orders?account={account_id}")).status_code == 404
            assert (await bob.get(f"/orders/history?account={account_id}")).status_code == 422
            assert (await bob.get(f"/brokers/{account_id}/disconnect")).status_code == 404
            assert (await bob.post(f"/brokers/{account_id}/test", {})).status_code == 404
            assert (
                await bob.post(f"/brokers/{account_id}/limits", {"max_open_positions": "1"})
            ).status_code == 404
            stolen = await place(
                bob, "iso-bob-0001", account_id=account_id, symbol="EURUSD", side="SELL", size="100"
            )
            assert stolen.status_code == 404
            close = await bob.api(
                "POST",
                f"/positions/{position['position_id']}/close",
                json={"account_id": account_id},
                headers={"Idempotency-Key": "iso-bob-0002"},
            )
            assert close.status_code == 404
        assert len((await ada.api("GET", "/positions")).json()["positions"]) == 1


async def test_pages_follow_the_rules_and_onboarding_connects_a_broker(page_rules, trading_stack, trader):
    async with trading_stack() as stack, trader(stack, "ada@example.com") as ada:
        for path in ["/brokers", "/orders", "/orders?account=paper&symbol=EURUSD", "/onboarding/broker"]:
            page = await ada.get(path)
            assert page.status_code == 200, path
            page_rules(page)
        step = await ada.get("/onboarding/broker")
        assert "Connect and continue" in step.text and "paper broker" in step.text
        creds = stack.sim.create_account()
        wrong = await ada.post(
            "/onboarding/broker",
            {
                "action": "connect",
                "identifier": creds.identifier,
                "api_key": creds.api_key,
                "api_key_password": "x",
            },
        )
        assert wrong.status_code == 400 and "refused these credentials" in wrong.text
        done = await ada.post(
            "/onboarding/broker",
            {
                "action": "connect",
                "identifier": creds.identifier,
                "api_key": creds.api_key,
                "api_key_password": creds.password,
            },
        )
        assert done.status_code == 303 and done.headers["location"] == "/onboarding/profile"
        again = await ada.get("/onboarding/broker")
        assert "Connected: Capital.com · demo · USD" in again.text
        assert len((await ada.api("GET", "/accounts")).json()["accounts"]) == 1
