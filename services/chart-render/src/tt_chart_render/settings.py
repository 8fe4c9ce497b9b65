"""Settings of the chart-render service (environment variables; see tt_runtime.settings)."""

from typing import Literal

from pydantic import SecretStr

from tt_runtime.settings import RuntimeSettings


class Settings(RuntimeSettings):
    service_name: str = "chart-render"
    service_port: int = 8104

    # Rendering: a process pool (matplotlib is CPU-bound and not thread-safe).
    render_workers: int = 2
    render_timeout_seconds: float = 60.0
    render_tasks_per_worker: int = 2000  # a worker is replaced after this many charts (bounds any leak)

    # Object storage: one interface, two backends.
    storage_backend: Literal["local", "s3"] = "local"
    storage_path: str = ".run/charts"
    s3_bucket: str = "charts"
    s3_region: str = "us-east-1"
    s3_endpoint: str | None = None  # an S3-compatible endpoint (MinIO, moto); None = AWS
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_allow_http: bool = False

    # Known keys remembered in memory: a repeated chart skips even the storage lookup.
    known_keys_cache: int = 4096
