"""Object storage behind one small interface: the local filesystem (default) or S3 (production).

Keys are content hashes, so a write is idempotent: writing the same key twice writes the same bytes.
Errors map to the runtime taxonomy: a missing object is ``None``; anything else from S3 is a
``TransientError`` (retried by the consumer policy), except refused credentials (``PermanentError``
would dead-letter every render, so those are transient too: an operator fixes the secret and the
backlog drains).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from tt_runtime.errors import TransientError


class ObjectStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str = "image/png") -> None: ...
    async def get(self, key: str) -> bytes | None: ...
    async def size(self, key: str) -> int | None: ...


class LocalObjectStore:
    """Files under ``root``; writes go to a temporary file and are renamed into place (atomic)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"key escapes the store: {key!r}")
        return path

    async def put(self, key: str, data: bytes, content_type: str = "image/png") -> None:
        await asyncio.to_thread(self._put, self._path(key), data)

    @staticmethod
    def _put(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size  # a stat: cheaper than a thread hop
        except FileNotFoundError:
            return None


class S3ObjectStore:
    """S3 (or any S3-compatible store) through obstore's async client."""

    def __init__(
        self,
        bucket: str,
        *,
        region: str = "us-east-1",
        endpoint: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        allow_http: bool = False,
    ) -> None:
        from obstore.store import S3Store

        kwargs: dict = {"region": region}
        if endpoint:
            kwargs["endpoint"] = endpoint
            kwargs["virtual_hosted_style_request"] = False
        if access_key_id:
            kwargs["access_key_id"] = access_key_id
            kwargs["secret_access_key"] = secret_access_key
        self.store = S3Store(
            bucket,
            client_options={"allow_http": allow_http, "timeout": timedelta(seconds=20)},
            # A few quick retries here; longer outages are the consumer policy's job (nack + delay).
            retry_config={
                "max_retries": 2,
                "retry_timeout": timedelta(seconds=10),
                "backoff": {"init_backoff": timedelta(milliseconds=100), "max_backoff": timedelta(seconds=1)},
            },
            **kwargs,
        )

    async def put(self, key: str, data: bytes, content_type: str = "image/png") -> None:
        import obstore

        try:
            await obstore.put_async(self.store, key, data, attributes={"Content-Type": content_type})
        except Exception as exc:
            raise TransientError(f"object store put {key} failed: {exc}") from exc

    async def get(self, key: str) -> bytes | None:
        import obstore
        from obstore.exceptions import NotFoundError

        try:
            result = await obstore.get_async(self.store, key)
            return bytes(await result.bytes_async())
        except (NotFoundError, FileNotFoundError):
            return None
        except Exception as exc:
            raise TransientError(f"object store get {key} failed: {exc}") from exc

    async def size(self, key: str) -> int | None:
        import obstore
        from obstore.exceptions import NotFoundError

        try:
            return int((await obstore.head_async(self.store, key))["size"])
        except (NotFoundError, FileNotFoundError):
            return None
        except Exception as exc:
            raise TransientError(f"object store head {key} failed: {exc}") from exc
