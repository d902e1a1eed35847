"""`mella mine --cc-index`: pages chosen by Common Crawl's columnar index (a fragment the test writes with
the real schema and hive partitions), read by HTTP range requests from WARC files served on 127.0.0.1."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers import rows
from mella.config import MineConfig
from mella.recipes.mine import run_mine
from mella.warcpack import response_record

# Common Crawl's columnar index schema (cc-index-table, "cc-main" table), partitioned by crawl and subset
SCHEMA = pa.schema([
    ("url_surtkey", pa.string()), ("url", pa.string()), ("url_host_name", pa.string()),
    ("url_host_tld", pa.string()), ("url_host_2nd_last_part", pa.string()),
    ("url_host_registered_domain", pa.string()), ("url_protocol", pa.string()), ("url_port", pa.int32()),
    ("url_path", pa.string()), ("url_query", pa.string()), ("fetch_time", pa.timestamp("us", tz="UTC")),
    ("fetch_status", pa.int16()), ("fetch_redirect", pa.string()), ("content_digest", pa.string()),
    ("content_mime_type", pa.string()), ("content_mime_detected", pa.string()), ("content_charset", pa.string()),
    ("content_languages", pa.string()), ("content_truncated", pa.string()), ("warc_filename", pa.string()),
    ("warc_record_offset", pa.int32()), ("warc_record_length", pa.int32()), ("warc_segment", pa.string()),
])
WARC_NAME = "crawl-data/CC-MAIN-2024-10/segments/1707947473347.0/warc/CC-MAIN-20240220211055-00000.warc.gz"


class RangeServer:
    """Serves files under ``root`` with HTTP Range support (206), counting requests and bytes sent."""

    def __init__(self, root: Path, ranges: bool = True):
        self.requests, self.bytes_sent = [], 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                path = root / self.path.lstrip("/")
                outer.requests.append((self.path, self.headers.get("Range")))
                if not path.is_file():
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = path.read_bytes()
                spec = self.headers.get("Range", "")
                if ranges and spec.startswith("bytes="):
                    start, end = (int(x) for x in spec[6:].split("-"))
                    body = data[start : end + 1]
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{start + len(body) - 1}/{len(data)}")
                else:
                    body = data
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                outer.bytes_sent += len(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def index_row(url: str, tld: str, languages: str | None, offset: int, length: int, mime: str = "text/html",
              status: int = 200, warc: str = WARC_NAME) -> dict:
    host = url.split("/")[2]
    return {"url_surtkey": ",".join(reversed(host.split("."))) + ")/", "url": url, "url_host_name": host,
            "url_host_tld": tld, "url_host_2nd_last_part": host.split(".")[-2],
            "url_host_registered_domain": ".".join(host.split(".")[-2:]), "url_protocol": "https", "url_port": None,
            "url_path": "/" + url.split("/", 3)[-1], "url_query": None,
            "fetch_time": datetime(2024, 2, 21, tzinfo=timezone.utc), "fetch_status": status, "fetch_redirect": None,
            "content_digest": "AAAA", "content_mime_type": mime, "content_mime_detected": mime,
            "content_charset": "UTF-8", "content_languages": languages, "content_truncated": None,
            "warc_filename": warc, "warc_record_offset": offset, "warc_record_length": length,
            "warc_segment": "1707947473347.0"}


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory, data_dir):
    """A WARC of real pages (Korean, Czech, Arabic news; an English page on a .cz host; an image) and the
    index fragment that describes it (plus a robots.txt subset file and rows that must not be selected)."""
    root = tmp_path_factory.mktemp("cc")
    pages = [
        ("https://www.mbn.co.kr/news/1", "kr", "kor", gzip.decompress((data_dir / "fundus/kr/MBN_2025_06_03.html.gz").read_bytes())),
        ("https://www.seznamzpravy.cz/clanek/1", "cz", "ces,eng",
         gzip.decompress((data_dir / "fundus/cz/SeznamZpravy_2025_04_08.html.gz").read_bytes())),
        ("https://www.lbcgroup.tv/news/1", "tv", "ara", gzip.decompress((data_dir / "fundus/lb/LBCGroup_2026_01_08.html.gz").read_bytes())),
        ("https://english.example.cz/a", "cz", "eng",
         b'<html lang="cs"><body><img src="/x.jpg" alt="Karl\xc5\xafv most v Praze za \xc3\xbasvitu"></body></html>'),
        ("https://news.example.com/b", "com", "eng",
         b'<html lang="en"><body><img src="/y.jpg" alt="A bridge over the river at dawn"></body></html>'),
    ]
    warc = b""
    index = []
    for url, tld, langs, html in pages:
        member = gzip.compress(response_record(url, html), mtime=0)
        index.append(index_row(url, tld, langs, len(warc), len(member)))
        warc += member
    image = gzip.compress(response_record("https://www.mbn.co.kr/img/1.jpg", b"\xff\xd8\xff" + b"0" * 500,
                                          content_type="image/jpeg"), mtime=0)
    index.append(index_row("https://www.mbn.co.kr/img/1.jpg", "kr", None, len(warc), len(image), mime="image/jpeg"))
    warc += image
    index.append(index_row("https://www.mbn.co.kr/gone", "kr", "kor", 0, 100, status=404))
    (root / "files" / Path(WARC_NAME).parent).mkdir(parents=True)
    (root / "files" / WARC_NAME).write_bytes(warc)
    part = root / "index" / "crawl=CC-MAIN-2024-10" / "subset=warc"
    part.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(index, schema=SCHEMA), part / "part-00000.parquet")
    robots = root / "index" / "crawl=CC-MAIN-2024-10" / "subset=robotstxt"
    robots.mkdir()
    pq.write_table(pa.Table.from_pylist([index_row("https://www.mbn.co.kr/robots.txt", "kr", "kor", 0, 10)],
                                        schema=SCHEMA), robots / "part-00000.parquet")
    (root / "local.warc.gz").write_bytes(warc)
    return root, index


@pytest.fixture()
def server(snapshot):
    s = RangeServer(snapshot[0] / "files")
    yield s
    s.close()


def test_the_index_chooses_the_pages_and_only_their_bytes_are_read(tmp_path, snapshot, server):
    root, index = snapshot
    glob = str(root / "index" / "**" / "*.parquet")
    out = tmp_path / "cc"
    proc = subprocess.run([sys.executable, "-m", "mella.cli", "mine", "--cc-index", glob, "--cc-base", server.url,
                           "--langs", "cs,ko", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    counts = json.loads((out / "stats.json").read_text())["cc_index"]
    # selected: the Korean and Czech pages (by content_languages) and the English page on a .cz host (by
    # TLD); not the Arabic or .com pages, the image, the 404 capture or the robots.txt subset
    selection = pq.read_table(out / "cc" / "selection.parquet").to_pylist()
    assert [r["url"] for r in selection] == ["https://www.mbn.co.kr/news/1", "https://www.seznamzpravy.cz/clanek/1",
                                             "https://english.example.cz/a"]
    assert counts["selected_records"] == 3 and counts["scanned_records"] == 8
    assert server.bytes_sent == sum(r["warc_record_length"] for r in selection) == counts["selected_bytes"]
    assert len(server.requests) == 3 and all(r[1].startswith("bytes=") for r in server.requests)
    assert f"3 of 8 records selected" in proc.stdout
    # the same records as mining the whole WARC file for those languages
    run_mine([root / "local.warc.gz"], tmp_path / "whole", MineConfig(langs=["cs", "ko"]))
    got, want = rows(out), rows(tmp_path / "whole")
    assert sorted(r["id"] for r in got) == sorted(r["id"] for r in want) and len(got) >= 8
    assert {r["page_url"] for r in got} >= {"https://www.mbn.co.kr/news/1", "https://english.example.cz/a"}
    assert all(r["source_file"] == server.url + WARC_NAME for r in got)


def test_several_tasks_and_workers_give_the_same_records(tmp_path, snapshot, server):
    root, _ = snapshot
    glob = str(root / "index" / "**" / "*.parquet")
    one = run_mine([], tmp_path / "one", MineConfig(langs=["cs", "ko"], cc={"index": glob, "base_url": server.url}))
    two = run_mine([], tmp_path / "two", MineConfig(langs=["cs", "ko"], workers=2,
                                                   cc={"index": glob, "base_url": server.url, "records_per_task": 1}))
    assert len(list((tmp_path / "two" / "logs" / "stage1" / "completions").iterdir())) == 3  # one task per record
    assert sorted(r["id"] for r in rows(tmp_path / "two")) == sorted(r["id"] for r in rows(tmp_path / "one"))
    assert one["kept_total"] == two["kept_total"] >= 8


def test_unreadable_ranges_cost_their_record_only(tmp_path, snapshot, server):
    root, index = snapshot
    bad = [dict(index[0]), dict(index[1]), dict(index[1])]
    bad[0]["warc_filename"] = "crawl-data/missing.warc.gz"  # 404 on the file
    bad[1]["warc_record_offset"] += 7  # a range that is not a record
    part = tmp_path / "index" / "subset=warc"
    part.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(bad + [index[3]], schema=SCHEMA), part / "part.parquet")
    summary = run_mine([], tmp_path / "out", MineConfig(langs=["cs", "ko"], cc={
        "index": str(part / "*.parquet"), "base_url": server.url, "retries": 1, "backoff": 0.01}))
    assert summary["dropped_by_reason"]["cc_fetch_error"] == 1
    assert summary["dropped_by_reason"]["warc_framing_error"] == 1
    assert {r["page_url"] for r in rows(tmp_path / "out")} == {"https://www.seznamzpravy.cz/clanek/1",
                                                               "https://english.example.cz/a"}
    errors = rows(tmp_path / "out" / "excluded", "excluded")
    assert any("HTTP 404" in (r.get("page_error") or "") for r in errors)


def test_a_server_without_ranges_and_a_wrong_index_are_clear(tmp_path, snapshot):
    root, _ = snapshot
    plain = RangeServer(root / "files", ranges=False)
    try:
        summary = run_mine([], tmp_path / "out", MineConfig(langs=["ko"], cc={
            "index": str(root / "index" / "**" / "*.parquet"), "base_url": plain.url, "retries": 0}))
    finally:
        plain.close()
    assert summary["kept_total"] == 0 and summary["dropped_by_reason"]["cc_fetch_error"] == 1
    not_index = tmp_path / "other.parquet"
    pq.write_table(pa.table({"url": ["https://a.cz/"]}), not_index)
    proc = subprocess.run([sys.executable, "-m", "mella.cli", "mine", "--cc-index", str(not_index), "--langs", "cs",
                           "--out", str(tmp_path / "x")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "not Common Crawl's columnar index (no column url_host_tld" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "mella.cli", "mine", "--cc-index", str(tmp_path / "none-*.parquet"),
                           "--langs", "cs", "--out", str(tmp_path / "y")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "no index files there" in proc.stderr and "Traceback" not in proc.stderr


def test_a_remote_warc_file_is_read_by_range_requests(tmp_path, snapshot, data_dir):
    """`mella mine https://.../file.warc.gz`: the same records as the local file, read in ranges; a
    corrupt member in the remote file costs its record only, as locally."""
    root, _ = snapshot
    served = tmp_path / "served"
    served.mkdir()
    blob = (root / "local.warc.gz").read_bytes()
    (served / "crawl.warc.gz").write_bytes(blob)
    (served / "broken.warc.gz").write_bytes(blob[:200] + b"\x00" * 300 + blob[500:])
    server = RangeServer(served)
    try:
        url = server.url + "crawl.warc.gz"
        proc = subprocess.run([sys.executable, "-m", "mella.cli", "mine", url, "--langs", "cs,ko", "--out",
                               str(tmp_path / "remote")], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert server.requests and all(r[1] and r[1].startswith("bytes=") for r in server.requests)
        broken = run_mine([server.url + "broken.warc.gz"], tmp_path / "broken", MineConfig(langs=["cs", "ko"]))
        missing = subprocess.run([sys.executable, "-m", "mella.cli", "mine", server.url + "nope.warc.gz", "--langs",
                                  "cs", "--out", str(tmp_path / "missing")], capture_output=True, text=True, timeout=300)
    finally:
        server.close()
    run_mine([root / "local.warc.gz"], tmp_path / "local", MineConfig(langs=["cs", "ko"]))
    local = sorted(r["id"] for r in rows(tmp_path / "local"))
    assert sorted(r["id"] for r in rows(tmp_path / "remote")) == local
    assert all(r["source_file"] == url for r in rows(tmp_path / "remote"))
    assert broken["dropped_by_reason"].get("warc_framing_error", 0) >= 1 and 0 < broken["kept_total"] < len(local) + 1
    # the same corrupt first gzip member in a local file: counted, the rest read (it used to raise zlib.error)
    same = run_mine([served / "broken.warc.gz"], tmp_path / "broken-local", MineConfig(langs=["cs", "ko"]))
    assert same["kept_total"] == broken["kept_total"]
    assert missing.returncode in (2, 4) and "Traceback" not in missing.stderr
