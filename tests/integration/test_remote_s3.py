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


def test_stage_outputs_go_to_s3_and_the_next_stage_reads_them_there(tmp_path, s3, monkeypatch):
    """`--out s3://...`: the job writes a local mirror and uploads it when done; a stage given an s3:// table
    downloads it (and the image store its manifest names) and writes its own output to s3:// too."""
    import os
    import subprocess
    import sys

    import boto3

    monkeypatch.setenv("MELLA_CACHE_DIR", str(tmp_path / "cache"))
    boto3.client("s3").create_bucket(Bucket="runs")

    def mella(*args):
        proc = subprocess.run([sys.executable, "-m", "mella.cli", *map(str, args)], capture_output=True, text=True,
                              timeout=300, env=dict(os.environ))
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    import io

    from PIL import Image

    from mella.warcpack import response_record, write_warc_gz

    def png(i):
        buf = io.BytesIO()
        Image.effect_noise((96, 80), 40 + 10 * i).convert("RGB").save(buf, format="PNG")
        return buf.getvalue()

    alts = ["Karlův most za úsvitu", "Pražský hrad nad Malou Stranou", "Staroměstský orloj o půlnoci"]
    page = ('<html lang="cs"><head><title>Praha</title></head><body>'
            + "".join(f'<img alt="{a}" src="/img/{i}.png">' for i, a in enumerate(alts)) + "</body></html>").encode()
    warc = write_warc_gz(tmp_path / "praha.warc.gz", [response_record("https://praha.invalid/galerie", page)] + [
        response_record(f"https://praha.invalid/img/{i}.png", png(i), content_type="image/png") for i in range(3)])
    out = mella("mine", warc, "--out", "s3://runs/exp1/mined", "--langs", "cs")
    assert "uploaded" in out and "s3://runs/exp1/mined" in out
    mella("fetch", "s3://runs/exp1/mined", "--out", "s3://runs/exp1/fetched", "--offline")
    mella("select", "s3://runs/exp1/fetched", "--out", "s3://runs/exp1/selected")
    keys = {o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="runs")["Contents"]}
    assert {"exp1/mined/table.json", "exp1/mined/stats.json", "exp1/fetched/table.json",
            "exp1/selected/table.json"} <= keys
    assert any(k.startswith("exp1/fetched/images/") for k in keys)
    assert not any(k.endswith((".lock", ".tmp")) for k in keys)
    # the same stages on local folders give the same records
    run_mine([warc], tmp_path / "local", MineConfig(langs=["cs"]))
    mirror = tmp_path / "cache" / "remote" / "s3" / "runs" / "exp1"
    assert sorted(r["id"] for r in rows(mirror / "mined")) == sorted(r["id"] for r in rows(tmp_path / "local"))
    fresh = tmp_path / "fresh"
    monkeypatch.setenv("MELLA_CACHE_DIR", str(fresh))
    from mella.remote import download_folder

    selected = download_folder("s3://runs/exp1/selected")  # a new machine: the store comes with it
    assert (fresh / "remote" / "s3" / "runs" / "exp1" / "fetched" / "images").is_dir()
    assert len(rows(selected)) == len(rows(mirror / "fetched")) == 3


def test_an_http_output_is_refused(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "mella.cli", "mine", "x.warc.gz", "--out", "https://example.org/x",
                           "--langs", "cs"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "not to an HTTP address" in proc.stderr, proc.stderr


def test_s3_outputs_are_checked_before_any_work(tmp_path, s3, monkeypatch):
    """A missing bucket, a prefix holding other files, another job's output, a missing input URL: one
    message and exit 2 before any work (nothing mined into the local mirror); the same job again is
    "done earlier" from the bucket alone."""
    import os
    import subprocess
    import sys

    import boto3

    monkeypatch.setenv("MELLA_CACHE_DIR", str(tmp_path / "cache"))
    client = boto3.client("s3")
    client.create_bucket(Bucket="checks")
    client.put_object(Bucket="checks", Key="foreign/important.csv", Body=b"a,b\n")

    def mella(*args, cache=None):
        env = dict(os.environ, **({"MELLA_CACHE_DIR": str(cache)} if cache else {}))
        return subprocess.run([sys.executable, "-m", "mella.cli", *map(str, args)], capture_output=True, text=True,
                              timeout=300, env=env)

    warc = s3 / "local.warc.gz"
    missing = mella("mine", warc, "--out", "s3://nobucket/x", "--langs", "cs")
    assert missing.returncode == 2 and "bucket 'nobucket' does not exist" in missing.stderr, missing.stderr
    foreign = mella("mine", warc, "--out", "s3://checks/foreign", "--langs", "cs")
    assert foreign.returncode == 2 and "not a mella output" in foreign.stderr, foreign.stderr
    nothing = mella("mine", "s3://checks/nothing/a.warc.gz", "--out", tmp_path / "o", "--langs", "cs")
    assert nothing.returncode == 2 and "input not found: s3://checks/nothing/a.warc.gz" in nothing.stderr
    first = mella("mine", warc, "--out", "s3://checks/run/mined", "--langs", "cs")
    assert first.returncode == 0, first.stderr
    # another machine (a fresh cache): another job into the same prefix is refused, the same job is done
    other = mella("mine", warc, "--out", "s3://checks/run/mined", "--langs", "ko", cache=tmp_path / "c2")
    assert other.returncode == 2 and "different job" in other.stderr, other.stderr
    same = mella("mine", warc, "--out", "s3://checks/run/mined", "--langs", "cs", cache=tmp_path / "c3")
    assert same.returncode == 0, same.stderr
    assert not (tmp_path / "cache" / "remote" / "s3" / "nobucket").exists()
