"""`make run`: the whole platform on one machine, with no external account.

Uses NATS_URL and DATABASE_URL when they answer; otherwise starts a local nats-server (JetStream,
sync_interval: always, from the dev dependencies) and a local Postgres cluster (system binaries)
under .run/. Applies streams and every service's migrations, starts the sandbox stand-ins and all
eight services under one supervisor with prefixed, coloured logs, prints the gateway URL, and
stops everything cleanly on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = Path(os.environ.get("TT_RUN_DIR", ROOT / ".run"))
SERVICES = {  # name -> default port (gateway serves HTTP; the others their ops endpoints)
    "gateway": 8000,
    "identity": 8101,
    "broker": 8102,
    "market-data": 8103,
    "chart-render": 8104,
    "ai-analysis": 8105,
    "strategy": 8106,
    "billing": 8107,
}


@dataclass(frozen=True)
class StandIn:
    """A local stand-in for an outside service, and the settings that point the services at it."""

    name: str
    module: str
    port: int
    args: Callable[[dict[str, int]], list[str]]
    service_env: Callable[[dict[str, int]], dict[str, str]]


def _oidc_providers(ports: dict[str, int]) -> dict[str, str]:
    google = {
        "discovery_url": f"http://127.0.0.1:{ports['oidc-google']}/.well-known/openid-configuration",
        "client_id": "trade-tracker-demo",
        "client_secret": "demo-secret",
    }
    return {"OIDC_PROVIDERS": json.dumps({"google": google})}


STAND_INS = (
    StandIn(
        "capitalcom-sim",
        "tt_sandbox.capitalcom",
        8201,
        lambda p: ["--speed", "60"],
        lambda p: {
            "CAPITALCOM_BASE_URL": f"http://127.0.0.1:{p['capitalcom-sim']}/api/v1",
            "CAPITALCOM_WS_URL": f"ws://127.0.0.1:{p['capitalcom-sim']}/connect",
        },
    ),
    StandIn(
        "smtp-sink",
        "tt_sandbox.smtp",
        8025,
        lambda p: ["--http-port", str(p["smtp-sink-http"])],
        lambda p: {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(p["smtp-sink"]),
            "SMTP_SINK_HTTP_URL": f"http://127.0.0.1:{p['smtp-sink-http']}",
        },
    ),
    # "Sign in with Google" in demo mode goes to a local OpenID provider.
    StandIn("oidc-google", "oidc_provider_mock", 8203, lambda p: [], _oidc_providers),
)
EXTRA_PORTS = {"smtp-sink-http": 8026}
# A verified trader identity creates at start, so the demo can be tried without signing up first.
DEMO_TRADER = {
    "IDENTITY_DEMO_USER_EMAIL": "trader@tradetracker.local",
    "IDENTITY_DEMO_USER_PASSWORD": "Sandbox-Pass-2026",
}
COLOURS = ["36", "32", "33", "35", "34", "96", "92", "93", "95", "94"]


def _runnable(module: str) -> bool:
    """Whether ``python -m module`` can run here (stand-ins from the dev dependencies may be absent)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _env_port(name: str, default: int) -> int:
    """``<NAME>_PORT`` overrides a default port (GATEWAY_PORT, SMTP_SINK_HTTP_PORT, …)."""
    return int(os.environ.get(f"{name.upper().replace('-', '_')}_PORT", default))


def fail(message: str) -> None:
    print(f"make run: {message}", file=sys.stderr)
    sys.exit(2)


def check_prerequisites(need_postgres: bool) -> None:
    from tt_runtime.local_servers import InfrastructureUnavailable, nats_server_binary, postgres_bin_dir

    try:
        nats_server_binary()
        if need_postgres:
            postgres_bin_dir()
    except InfrastructureUnavailable as exc:
        fail(str(exc))


def _answers(url: str | None) -> bool:
    from urllib.parse import urlparse

    from tt_runtime.local_servers import port_answers

    if not url:
        return False
    parsed = urlparse(url)
    return bool(parsed.hostname) and port_answers(parsed.hostname, parsed.port or 0)


def _postgres_can_enter(path: Path) -> bool:
    if os.geteuid() != 0:
        return True
    return (
        subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(path)], check=False).returncode
        == 0
    )


def _preferred_port(port: int) -> int:
    from tt_runtime.local_servers import free_port, port_answers

    return free_port() if port_answers("127.0.0.1", port) else port


@dataclass
class Infra:
    nats_url: str
    database_url: str
    stops: list


def start_infrastructure() -> Infra:
    from tt_runtime.local_servers import LocalNatsServer, LocalPostgres

    stops: list = []
    nats_url = os.environ.get("NATS_URL")
    if _answers(nats_url):
        print(f"using NATS at {nats_url}")
    else:
        server = LocalNatsServer(
            base_dir=RUN_DIR / "nats", port=_preferred_port(14222), monitor_port=_preferred_port(18222)
        ).start()
        stops.append(server.stop)
        nats_url = server.url
        print(f"started nats-server (JetStream, sync_interval: always) at {nats_url}")
    database_url = os.environ.get("DATABASE_URL")
    if _answers(database_url):
        print("using Postgres from DATABASE_URL")
    else:
        RUN_DIR.mkdir(exist_ok=True)
        base = RUN_DIR / "postgres"
        if not _postgres_can_enter(RUN_DIR):
            base = Path("/tmp") / f"tt-run-{abs(hash(str(ROOT))) % 10**8}" / "postgres"
        base.mkdir(parents=True, exist_ok=True)
        cluster = LocalPostgres(base_dir=base, port=_preferred_port(15432)).start()
        stops.append(cluster.stop)
        admin = cluster.url
        import psycopg

        with psycopg.connect(admin, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'tradetracker'").fetchone():
                conn.execute("CREATE DATABASE tradetracker")
        database_url = admin.rsplit("/", 1)[0] + "/tradetracker"
        print(f"started Postgres at 127.0.0.1:{cluster.port} (data in {base})")
    return Infra(nats_url, database_url, stops)


def provision(infra: Infra) -> None:
    env = {**os.environ, "NATS_URL": infra.nats_url, "DATABASE_URL": infra.database_url}
    for step in (["-m", "tt_runtime.streams", "apply"], ["-m", "tt_runtime.migrate", "upgrade"]):
        result = subprocess.run([sys.executable, *step], env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            fail(f"{' '.join(step[1:])} failed:\n{result.stderr[-2000:]}")
    print("streams applied, migrations at head")


class Supervisor:
    def __init__(self, infra: Infra, colour: bool) -> None:
        self.infra = infra
        self.colour = colour
        self.children: dict[str, asyncio.subprocess.Process] = {}
        self.pumps: list[asyncio.Task] = []
        self.width = max(len(n) for n in [*SERVICES, *(si.name for si in STAND_INS)])
        self.service_env: dict[str, str] = {}

    def _prefix(self, name: str, index: int) -> str:
        label = name.ljust(self.width)
        return f"\033[{COLOURS[index % len(COLOURS)]}m{label}\033[0m | " if self.colour else f"{label} | "

    async def _pump(self, name: str, index: int, stream: asyncio.StreamReader) -> None:
        prefix = self._prefix(name, index)
        async for line in stream:
            sys.stdout.write(prefix + line.decode(errors="replace").rstrip() + "\n")
            sys.stdout.flush()

    async def spawn(
        self, name: str, index: int, module: str, port: int, extra: list[str] | None = None
    ) -> None:
        env = {
            **os.environ,
            **self.service_env,
            "NATS_URL": self.infra.nats_url,
            "DATABASE_URL": self.infra.database_url,
            "ENVIRONMENT": os.environ.get("ENVIRONMENT", "development"),
            "SERVICE_HOST": "127.0.0.1",
            "SERVICE_PORT": str(port),
            "LOG_JSON": "false",
            "PYTHONUNBUFFERED": "1",
        }
        args = [sys.executable, "-m", module, *(extra or [])]
        if extra is not None:
            args += ["--host", "127.0.0.1", "--port", str(port)]
        proc = await asyncio.create_subprocess_exec(
            *args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        self.children[name] = proc
        self.pumps.append(asyncio.create_task(self._pump(name, index, proc.stdout)))

    async def stop(self) -> None:
        for proc in self.children.values():
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.children.values():
            try:
                await asyncio.wait_for(proc.wait(), timeout=max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                proc.kill()
                await proc.wait()
        # Drain the log pipes to their end while the loop runs, so no pipe transport is left to be
        # closed by the garbage collector after the loop has gone ("Event loop is closed").
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*self.pumps, return_exceptions=True), timeout=5)
        self.children.clear()

    def exited(self) -> list[str]:
        return [n for n, p in self.children.items() if p.returncode is not None]


def _status(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"{url}/api/v1/system/status", timeout=3) as response:
            return json.loads(response.read())
    except OSError:
        return None


async def wait_for_platform(url: str, supervisor: Supervisor, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if dead := supervisor.exited():
            raise RuntimeError(f"exited during startup: {', '.join(dead)}")
        last = await asyncio.to_thread(_status, url)
        if last and last.get("status") == "ok":
            return last
        await asyncio.sleep(0.5)
    raise RuntimeError(f"platform not up within {timeout:.0f}s: {last}")


async def main_async(args) -> int:
    infra = start_infrastructure()
    supervisor = Supervisor(infra, colour=sys.stdout.isatty())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    code = 0
    try:
        provision(infra)
        index = 0
        if not args.no_sandbox:
            defaults = {**{si.name: si.port for si in STAND_INS}, **EXTRA_PORTS}
            stand_in_ports = {name: _env_port(name, port) for name, port in defaults.items()}
            for si in STAND_INS:
                if _runnable(si.module):
                    port = stand_in_ports[si.name]
                    await supervisor.spawn(si.name, index, si.module, port, si.args(stand_in_ports))
                    supervisor.service_env.update(si.service_env(stand_in_ports))
                    index += 1
        ports = {name: _env_port(name, port) for name, port in SERVICES.items()}
        supervisor.service_env.update({k: os.environ.get(k, v) for k, v in DEMO_TRADER.items()})
        for name in SERVICES:
            await supervisor.spawn(name, index, "tt_" + name.replace("-", "_"), ports[name])
            index += 1
        url = f"http://127.0.0.1:{ports['gateway']}"
        status = await wait_for_platform(url, supervisor, args.timeout)
        up = sum(1 for s in status["services"] if s["state"] == "up")
        print(
            f"\nTrade Tracker is up: {up}/{len(status['services'])} services. Open {url}\n"
            f"  demo trader: {supervisor.service_env['IDENTITY_DEMO_USER_EMAIL']} / "
            f"{supervisor.service_env['IDENTITY_DEMO_USER_PASSWORD']}\n"
            f"  system status: {url}/api/v1/system/status   API docs: {url}/docs   Ctrl-C stops everything\n"
        )
        if not args.check:
            waiter = asyncio.create_task(stop.wait())
            while not waiter.done():
                await asyncio.sleep(0.5)
                if dead := supervisor.exited():
                    print(f"make run: {', '.join(dead)} exited; stopping", file=sys.stderr)
                    code = 1
                    break
            waiter.cancel()
    except RuntimeError as exc:
        print(f"make run: {exc}", file=sys.stderr)
        code = 1
    finally:
        print("stopping services…")
        await supervisor.stop()
        for stop_infra in reversed(infra.stops):
            with contextlib.suppress(Exception):
                stop_infra()
        print("stopped")
    return code


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="start, verify every service is up, stop")
    parser.add_argument("--no-sandbox", action="store_true", help="do not start the sandbox stand-ins")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument(
        "--clean", action="store_true", help="delete .run/ (local NATS and Postgres data) first"
    )
    args = parser.parse_args()
    if args.clean:
        shutil.rmtree(RUN_DIR, ignore_errors=True)
    check_prerequisites(need_postgres=not _answers(os.environ.get("DATABASE_URL")))
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
