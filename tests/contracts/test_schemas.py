"""Generated schemas are committed: drift fails, and a breaking change within a version fails."""

import copy
import json
import shutil
from pathlib import Path

from tt_contracts import schemagen

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "contracts" / "schemas"
DOCS = ROOT / "docs" / "architecture.md"


def test_committed_schemas_match_the_code():
    report = schemagen.compare(SCHEMAS, DOCS, ROOT / "services")
    assert report.ok, f"run `make contracts`: drift={report.drift} breaking={report.breaking}"


def _hold_schema() -> dict:
    return json.loads((SCHEMAS / "jsonschema" / "billing.cmd.hold.create.v1.json").read_text())


def test_adding_an_optional_field_is_compatible():
    old = _hold_schema()
    new = copy.deepcopy(old)
    new["message"]["properties"]["note"] = {"type": "string", "default": ""}
    assert schemagen.breaking_changes(old, new) == []


def test_removing_retyping_or_requiring_fields_is_breaking():
    old = _hold_schema()
    removed = copy.deepcopy(old)
    del removed["message"]["properties"]["amount"]
    retyped = copy.deepcopy(old)
    retyped["message"]["properties"]["purpose"] = {"type": "integer"}
    required = copy.deepcopy(old)
    required["message"]["properties"]["reason"] = {"type": "string"}
    required["message"]["required"].append("reason")
    assert any("'amount' removed" in p for p in schemagen.breaking_changes(old, removed))
    assert any("'purpose' changed type" in p for p in schemagen.breaking_changes(old, retyped))
    assert any("'reason' became required" in p for p in schemagen.breaking_changes(old, required))


def test_check_detects_drift_and_write_refuses_a_breaking_change(tmp_path):
    copy_dir = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copy_dir)
    target = copy_dir / "jsonschema" / "billing.cmd.hold.create.v1.json"
    committed = json.loads(target.read_text())
    # Pretend the committed version had a field the code no longer has.
    committed["message"]["properties"]["legacy_field"] = {"type": "string"}
    target.write_text(json.dumps(committed))
    report = schemagen.compare(copy_dir, None)
    assert "changed jsonschema/billing.cmd.hold.create.v1.json" in report.drift
    assert any("legacy_field" in p for p in report.breaking["jsonschema/billing.cmd.hold.create.v1.json"])
    refused = schemagen.write(copy_dir, None)
    assert refused.breaking and "legacy_field" in target.read_text(), "a breaking change is never written"


def test_asyncapi_lists_every_subject():
    doc = json.loads((SCHEMAS / "asyncapi.json").read_text())
    assert doc["asyncapi"].startswith("3.")
    addresses = {c["address"] for c in doc["channels"].values()}
    assert "market-data.evt.candle.closed.v1.{venue}.{symbol}.{timeframe}" in addresses
    assert len(doc["channels"]) == len(schemagen.ROUTES)


def test_changing_enum_values_is_breaking():
    old = json.loads((SCHEMAS / "jsonschema" / "broker.cmd.order.place.v1.json").read_text())
    new = copy.deepcopy(old)
    new["message"]["$defs"]["Side"]["enum"].append("SHORT")
    assert any("Side: enum values changed" in p for p in schemagen.breaking_changes(old, new))
