"""`make run`'s embedded default, end to end: the runner starts its own nats-server and Postgres, applies
streams and migrations, starts the sandbox and all eight services, sees them all up through the gateway,
and stops everything when told to."""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from tt_contracts import SERVICES
from tt_runtime.local_servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_runner_brings_the_platform_up_and_down():
    run_dir = Path(tempfile.mkdtemp(prefix="tt-make-run-"))
    run_dir.chmod(0o755)  # the postgres user must be able to enter it
    env = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "DATABASE_URL")}
    env["TT_RUN_DIR"] = str(run_dir)
    for service in [*SERVICES, "capitalcom-sim", "smtp-sink", "smtp-sink-http", "oidc-google"]:
        env[f"{service.upper().replace('-', '_')}_PORT"] = str(free_port())
    result = subprocess.run(
        [sys.executable, str(ROOT / "deploy/local/run.py"), "--check", "--timeout", "120"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "started nats-server (JetStream, sync_interval: always)" in output
    assert "started Postgres" in output
    assert "streams applied, migrations at head" in output
    assert re.search(r"Trade Tracker is up: 8/8 services", output), output[-3000:]
    assert "demo trader: trader@tradetracker.local" in output
    for stand_in in ("capitalcom-sim", "smtp-sink", "oidc-google"):
        assert f"{stand_in}" in output, f"the {stand_in} stand-in runs beside the services"
    assert output.rstrip().endswith("stopped")
    subprocess.run(["rm", "-rf", str(run_dir)], check=False)


def test_every_service_setting_for_a_stand_in_url_is_set_by_the_runner():
    """A service reading the venue (or SMTP) URL under a name the runner does not set would talk to
    the real outside world in demo mode, which has no network."""
    import importlib
    import importlib.util

    spec = importlib.util.spec_from_file_location("local_run", ROOT / "deploy/local/run.py")
    run = importlib.util.module_from_spec(spec)
    sys.modules["local_run"] = run  # its dataclasses look themselves up there
    spec.loader.exec_module(run)
    ports = {**{si.name: si.port for si in run.STAND_INS}, **run.EXTRA_PORTS}
    env: dict[str, str] = {}
    for stand_in in run.STAND_INS:
        env.update(stand_in.service_env(ports))
    checked = []
    for service in SERVICES:
        settings = importlib.import_module(f"tt_{service.replace('-', '_')}.settings").Settings
        for name in settings.model_fields:
            if name.startswith(("capitalcom_", "smtp_")) and name.endswith(("_url", "_host")):
                assert name.upper() in env, f"{service}.{name} is not pointed at its stand-in"
                checked.append(f"{service}.{name}")
    assert "broker.capitalcom_base_url" in checked and "market-data.capitalcom_ws_url" in checked
