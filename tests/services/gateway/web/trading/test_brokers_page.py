"""The Brokers page over HTTP: connecting the simulator's demo account, seeing it listed, testing it,
risk limits (the paper broker's too), and disconnecting after a confirmation."""

from __future__ import annotations

import re


def connect_form(creds, label: str = "Sim demo") -> dict[str, str]:
    return {
        "identifier": creds.identifier,
        "api_key": creds.api_key,
        "api_key_password": creds.password,
        "environment": "demo",
        "label": label,
    }


def account_id_on(page, label: str = "Sim demo") -> str:
    found = re.search(rf'id="account-([0-9a-f-]{{36}})".{{0,400}}?{re.escape(label)}', page.text, re.S)
    assert found, "the connected account is listed"
    return found.group(1)


async def test_connect_list_and_disconnect(trading_stack, trader):
    async with trading_stack() as stack, trader(stack, "ada@example.com") as ada:
        creds = stack.sim.create_account()
        page = await ada.get("/brokers")
        assert (
            page.status_code == 200
            and "Paper broker" in page.text
            and "Connect a Capital.com account" in page.text
        )

        missing = await ada.post("/brokers/connect", {**connect_form(creds), "api_key": ""})
        assert missing.status_code == 422 and "Enter the API key" in missing.text
        assert creds.password not in missing.text, "secrets are never echoed back"

        wrong = await ada.post(
            "/brokers/connect", {**connect_form(creds), "api_key_password": "not-the-password"}
        )
        assert wrong.status_code == 400 and "refused these credentials" in wrong.text
        assert "not-the-password" not in wrong.text and creds.api_key not in wrong.text

        done = await ada.post("/brokers/connect", connect_form(creds))
        assert done.status_code == 303 and done.headers["location"] == "/brokers?saved=connected"
        listed = await ada.get("/brokers?saved=connected")
        assert "The account is connected" in listed.text
        assert "Sim demo" in listed.text and "demo" in listed.text and "USD" in listed.text
        assert creds.api_key not in listed.text and creds.password not in listed.text
        account_id = account_id_on(listed)

        confirm = await ada.get(f"/brokers/{account_id}/disconnect")
        assert confirm.status_code == 200 and "Disconnect this account?" in confirm.text
        gone = await ada.post(f"/brokers/{account_id}/disconnect", {})
        assert gone.status_code == 303
        after = await ada.get("/brokers?saved=disconnected")
        assert "disconnected" in after.text
        assert f'action="/brokers/{account_id}/test"' not in after.text, (
            "no actions on a disconnected account"
        )
        api = await ada.api("GET", "/accounts")
        assert [a["status"] for a in api.json()["accounts"]] == ["disconnected"]


async def test_test_button_reports_latency(trading_stack, trader):
    """Needs the broker's account.test responder."""
    async with trading_stack() as stack, trader(stack, "ada@example.com") as ada:
        await ada.post("/brokers/connect", connect_form(stack.sim.create_account()))
        account_id = account_id_on(await ada.get("/brokers"))
        tested = await ada.post(f"/brokers/{account_id}/test", {})
        assert tested.status_code == 200
        assert "Connection works" in tested.text and re.search(r"answered in \d+ ms", tested.text)


async def test_risk_limits_for_an_account_and_the_paper_broker(trading_stack, trader):
    """Needs the broker's risk-limits get/set responders."""
    async with trading_stack() as stack, trader(stack, "ada@example.com") as ada:
        await ada.post("/brokers/connect", connect_form(stack.sim.create_account()))
        account_id = account_id_on(await ada.get("/brokers"))

        bad = await ada.post(
            f"/brokers/{account_id}/limits", {"max_position_size": "-5", "max_open_positions": "x"}
        )
        assert bad.status_code == 422 and "Enter a positive number" in bad.text and "whole number" in bad.text

        for key, size in [(account_id, "2500"), ("paper", "750.5")]:
            saved = await ada.post(
                f"/brokers/{key}/limits",
                {"max_position_size": size, "max_open_positions": "3", "daily_loss_limit": "200"},
            )
            assert saved.status_code == 303, saved.text[:300]
        page = await ada.get("/brokers?saved=limits")
        assert f'id="lim-{account_id}-max_position_size" name="max_position_size" value="2500"' in page.text
        assert 'id="lim-paper-max_position_size" name="max_position_size" value="750.5"' in page.text
        assert 'id="lim-paper-max_open_positions" name="max_open_positions" value="3"' in page.text
