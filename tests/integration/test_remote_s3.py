"""Crawl files and Common Crawl's index on an S3-compatible server (moto's server mode on 127.0.0.1):
`mella mine s3://bucket/*.warc.gz` and `mella mine --cc-index s3://... --cc-base s3://...` read them
through fsspec/s3fs and give the records of the local files."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers import rows
from mella.config import MineConfig
from mella.recipes.mine import run_mine
from test_cc_index import SCHEMA, WARC_NAME, snapshot  # noqa: F401 - the fixture: real pages + index


@pytest.fixture(scope="module")
def s3(snapshot, tmp_path_factory):  # noqa: F811
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://{host}:{port}"}
    patch = pytest.MonkeyPatch()
    for key, value in env.items():
        patch.setenv(key, value)
    import boto3
    import fsspec

    fsspec.config.conf.pop("s3", None)
    client = boto3.client("s3")
    client.create_bucket(Bucket="commoncrawl")
    root, _ = snapshot
    client.upload_file(str(root / "local.warc.gz"), "commoncrawl", WARC_NAME)
    client.upload_file(str(root / "local.warc.gz"), "commoncrawl", "mirror/a.warc.gz")
    index = next((root / "index").rglob("subset=warc/*.parquet"))
    client.upload_file(str(index), "commoncrawl", "cc-index/table/cc-main/warc/crawl=CC-MAIN-2024-10/subset=warc/part-0.parquet")
    yield root
    patch.undo()
    server.stop()


def test_warc_files_on_s3_are_mined_like_local_ones(tmp_path, s3):
    remote = run_mine(["s3://commoncrawl/mirror/*.warc.gz"], tmp_path / "remote", MineConfig(langs=["cs", "ko"]))
    run_mine([s3 / "local.warc.gz"], tmp_path / "local", MineConfig(langs=["cs", "ko"]))
    assert sorted(r["id"] for r in rows(tmp_path / "remote")) == sorted(r["id"] for r in rows(tmp_path / "local"))
    assert remote["kept_total"] >= 8
    assert {r["source_file"] for r in rows(tmp_path / "remote")} == {"s3://commoncrawl/mirror/a.warc.gz"}


def test_common_crawl_index_and_records_on_s3(tmp_path, s3):
    glob = "s3://commoncrawl/cc-index/table/cc-main/warc/crawl=CC-MAIN-2024-10/subset=warc/*.parquet"
    summary = run_mine([], tmp_path / "cc", MineConfig(langs=["cs", "ko"], cc={"index": glob,
                                                                               "base_url": "s3://commoncrawl/"}))
    assert summary["cc_index"]["selected_records"] == 3
    run_mine([s3 / "local.warc.gz"], tmp_path / "local", MineConfig(langs=["cs", "ko"]))
    assert sorted(r["id"] for r in rows(tmp_path / "cc")) == sorted(r["id"] for r in rows(tmp_path / "local"))
