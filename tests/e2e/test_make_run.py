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
