"""Object storage: the local filesystem and S3 (against moto's server) behind one interface."""

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tt_chart_render.adapters.storage import LocalObjectStore, S3ObjectStore
from tt_runtime.errors import TransientError
from tt_runtime.testing import free_port

KEY = "charts/ab/" + "ab" * 32 + ".png"


async def _round_trip(store) -> None:
    assert await store.size(KEY) is None
    assert await store.get(KEY) is None
    await store.put(KEY, b"\x89PNG-one", "image/png")
    await store.put(KEY, b"\x89PNG-one", "image/png")  # idempotent: same key, same bytes
    assert await store.get(KEY) == b"\x89PNG-one"
    assert await store.size(KEY) == 8


async def test_local_store_round_trip_and_atomic_layout(tmp_path):
    store = LocalObjectStore(tmp_path)
    await _round_trip(store)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert [p.relative_to(tmp_path).as_posix() for p in files] == [KEY], "no temporary files left behind"
    with pytest.raises(ValueError, match="escapes"):
        await store.get("../../etc/passwd")


@pytest.fixture
def moto_s3():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).create_bucket(Bucket="charts")
    yield endpoint
    server.stop()


def _s3(endpoint: str, bucket: str = "charts") -> S3ObjectStore:
    return S3ObjectStore(
        bucket, endpoint=endpoint, access_key_id="test", secret_access_key="test", allow_http=True
    )


async def test_s3_store_round_trip_against_moto(moto_s3):
    store = _s3(moto_s3)
    await _round_trip(store)
    head = boto3.client(
        "s3",
        endpoint_url=moto_s3,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).head_object(Bucket="charts", Key=KEY)
    assert head["ContentType"] == "image/png" and head["ContentLength"] == 8


async def test_s3_failures_are_transient(moto_s3):
    store = _s3(moto_s3, bucket="no-such-bucket")
    with pytest.raises(TransientError):
        await store.put(KEY, b"x")
    dead = _s3(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(TransientError):
        await dead.size(KEY)
