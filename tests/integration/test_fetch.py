"""`mella fetch` against a local HTTP server (127.0.0.1 only): every outcome has its name."""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyarrow.parquet as pq
import pytest

from mella.config import FetchConfig
from mella.images.net import FetchError, SafeFetcher, check_address
from mella.recipes.fetch import run_fetch
from mella.schema import MINED_COLUMNS
from mella.steps.write import ParquetShardWriter
from mella.table import write_manifest


def jpeg(size=(320, 240), color=(200, 60, 40), seed=0, quality=90) -> bytes:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    h, w = size[1], size[0]
    y, x = np.mgrid[0:h, 0:w]
    cx, cy, r = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h, rng.uniform(0.15, 0.3) * min(w, h)
    arr = np.zeros((h, w, 3), dtype=np.float64)
    arr[..., 0] = color[0] * x / w + 40 * np.sin(y / h * 3 * (seed + 1))  # smooth structure: a stable pHash
    arr[..., 1] = color[1] * y / h
    arr[..., 2] = color[2]
    arr[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = 255 - np.array(color)
    arr = np.clip(arr, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def png_bomb(width=100_000, height=100_000) -> bytes:
    """A tiny PNG that declares huge dimensions (the header is all Pillow needs to refuse it)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b"")


def animated_gif() -> bytes:
    from PIL import Image

    frames = [Image.new("RGB", (120, 120), c) for c in ((255, 0, 0), (0, 255, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


BASE = jpeg(seed=1)
ROUTES = {
    "/ok.jpg": (200, "image/jpeg", BASE),
    "/ok-again.jpg": (200, "image/jpeg", BASE),  # exact duplicate bytes
    "/near.jpg": (200, "image/jpeg", jpeg(seed=1, quality=70)),  # same picture, re-encoded
    "/other.jpg": (200, "image/jpeg", jpeg(color=(20, 80, 200), seed=7)),
    "/missing.jpg": (404, "text/html", b"no"),
    "/html.jpg": (200, "text/html", b"<html>not an image</html>"),
    "/truncated.jpg": (200, "image/jpeg", BASE[: len(BASE) // 2]),
    "/bomb.png": (200, "image/png", png_bomb()),
    "/animated.gif": (200, "image/gif", animated_gif()),
    "/tiny.jpg": (200, "image/jpeg", jpeg(size=(16, 16))),
    "/big.jpg": (200, "image/jpeg", b"\xff\xd8" + os.urandom(300_000)),
    "/robots.jpg": (200, "image/jpeg", jpeg(seed=3)),
}


class ImageServer:
    def __init__(self):
        self.hits: dict[str, int] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                path = self.path
                outer.hits[path] = outer.hits.get(path, 0) + 1
                if path == "/flaky.jpg" and outer.hits[path] == 1:
                    return self._send(429, "text/plain", b"slow down")
                if path == "/flaky.jpg":
                    return self._send(200, "image/jpeg", jpeg(color=(0, 150, 0), seed=5))
                if path == "/slow.jpg":
                    time.sleep(1.5)
                    return self._send(200, "image/jpeg", BASE)
                if path == "/loop.jpg":
                    return self._redirect("/loop2.jpg")
                if path == "/loop2.jpg":
                    return self._redirect("/loop.jpg")
                if path == "/to-metadata.jpg":
                    return self._redirect("http://169.254.169.254/latest/meta-data/")
                if path == "/to-private.jpg":
                    return self._redirect("http://10.20.30.40/secret.jpg")
                if path == "/moved.jpg":
                    return self._redirect("/other.jpg")
                status, ctype, body = ROUTES.get(path, (404, "text/plain", b""))
                extra = {"X-Robots-Tag": "noai, noimageai"} if path == "/robots.jpg" else {}
                self._send(status, ctype, body, extra)

            def _redirect(self, location):
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _send(self, status, ctype, body, extra=None):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class QuietServer(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # clients abort on purpose (too_large, timeout): no tracebacks

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


@pytest.fixture(scope="module")
def server():
    s = ImageServer()
    yield s
    s.close()


EXPECTED = {  # path -> outcome
    "/ok.jpg": "ok", "/ok-again.jpg": "dup_image_exact", "/near.jpg": "dup_image_near", "/other.jpg": "ok",
    "/missing.jpg": "http_404", "/flaky.jpg": "ok", "/slow.jpg": "timeout", "/big.jpg": "too_large",
    "/loop.jpg": "redirect_loop", "/to-metadata.jpg": "blocked_link_local_address",
    "/to-private.jpg": "blocked_private_address", "/html.jpg": "wrong_content_type",
    "/truncated.jpg": "corrupt_image", "/bomb.png": "decompression_bomb", "/animated.gif": "animated",
    "/tiny.jpg": "too_small", "/robots.jpg": "x_robots_tag_denied", "/moved.jpg": "dup_image_exact",
}


def mined_dir(tmp_path, base, paths):
    from datatrove.data import Document, Media, MediaType

    folder = tmp_path / "mined"
    writer = ParquetShardWriter(folder, MINED_COLUMNS, prefix="train", batch_rows=4)
    docs = [Document(text=f"Karlův most číslo {n}", id=f"r{n:03d}",
                     media=[Media(id="0", type=MediaType.IMAGE, url=f"{base}{p}")],
                     metadata={"lid.lang": "cs", "lid.script": "Latn", "page.url": f"{base}/page"})
            for n, p in enumerate(paths)]
    list(writer.run(iter(docs), 0, 1))
    write_manifest(folder, "mine", None, len(docs))
    return folder


def config(**kw) -> FetchConfig:
    base = dict(allowed_networks=["127.0.0.1/32"], timeout=0.5, retries=1, backoff=0.05, max_bytes=200_000,
                concurrency=4, shard_records=5, warc_first=False)
    return FetchConfig(**(base | kw))


def outcomes(out) -> dict[str, str]:
    seen = {}
    for f in out.glob("train-*.parquet"):
        for row in pq.read_table(f, columns=["image_url", "image_status"]).to_pylist():
            seen[row["image_url"]] = row["image_status"]
    for f in (out / "excluded").glob("*.parquet"):
        for row in pq.read_table(f, columns=["image_url", "reason"]).to_pylist():
            seen[row["image_url"]] = row["reason"]
    return seen


def test_every_outcome_is_named(tmp_path, server):
    paths = list(EXPECTED)
    summary = run_fetch(mined_dir(tmp_path, server.base, paths), tmp_path / "out", config())
    got = {url.removeprefix(server.base): reason for url, reason in outcomes(tmp_path / "out").items()}
    assert got == EXPECTED
    assert summary["kept_total"] == 3 and summary["dropped_by_lang"]["cs"]["http_404"] == 1


def test_images_are_stored_once_by_content_and_every_column_is_carried(tmp_path, server):
    import hashlib

    out = tmp_path / "out"
    mined = mined_dir(tmp_path, server.base, ["/ok.jpg", "/other.jpg", "/missing.jpg", "/ok-again.jpg", "/near.jpg"])
    run_fetch(mined, out, config())
    kept = pq.read_table(next(out.glob("train-*.parquet"))).to_pylist()
    assert [r["id"] for r in kept] == ["r000", "r001"]
    assert "image" not in kept[0]  # no bytes in the table: a reference to the store
    assert kept[0]["text"] == "Karlův most číslo 0" and kept[0]["lang"] == "cs"  # mined columns carried
    assert kept[0]["width"] == 320 and len(kept[0]["phash"]) == 16
    store = out / json.loads((out / "table.json").read_text())["image_store"]
    files = sorted(p for p in store.rglob("*") if p.is_file())
    assert len(files) == 2  # the exact duplicate is the same file; the near duplicate's file was removed
    for row in kept:
        path = store / row["sha256"][:2] / f"{row['sha256']}.{row['image_ext']}"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"] == path.stem
    assert kept[0]["orig_sha256"] == hashlib.sha256(BASE).hexdigest()  # the original's hash, for exact dedup
    manifest = json.loads((out / "table.json").read_text())
    assert manifest["stages"] == ["mine", "fetch"] and manifest["rows"] == 2
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("parquet", data_dir=str(out), cache_dir=str(out.parent / "hf-cache"))["train"]
    assert ds.num_rows == 2 and set(ds["image_status"]) == {"ok"}


def test_private_addresses_are_refused_without_the_flag(server):
    with pytest.raises(FetchError) as e:
        SafeFetcher().fetch(f"{server.base}/ok.jpg")
    assert e.value.kind == "blocked_loopback_address"
    assert SafeFetcher(allow_private=True).fetch(f"{server.base}/ok.jpg").data == BASE
    with pytest.raises(FetchError) as e:
        SafeFetcher().fetch("file:///etc/passwd")
    assert e.value.kind == "bad_scheme"
    for ip, kind in (("10.1.2.3", "blocked_private_address"), ("192.168.0.1", "blocked_private_address"),
                     ("169.254.169.254", "blocked_link_local_address"), ("::1", "blocked_loopback_address"),
                     ("::ffff:127.0.0.1", "blocked_loopback_address"), ("224.0.0.1", "blocked_private_address")):
        with pytest.raises(FetchError) as e:
            check_address(ip, allow_private=False)
        assert e.value.kind == kind, ip
    check_address("93.184.215.14", allow_private=False)  # a public address passes


def test_images_in_the_warc_are_taken_from_it(tmp_path):
    from mella.warcpack import response_record, write_warc_gz

    img = jpeg(seed=9)
    page = '<html lang="cs"><body><img alt="Karlův most v Praze za úsvitu" src="/pic.jpg"></body></html>'.encode()
    warc = write_warc_gz(tmp_path / "c.warc.gz", [response_record("https://nowhere.invalid/a", page),
                                                  response_record("https://nowhere.invalid/pic.jpg", img,
                                                                  content_type="image/jpeg")])
    from mella.config import MineConfig
    from mella.recipes.mine import run_mine

    run_mine([warc], tmp_path / "mined", MineConfig(langs=["cs"]))
    summary = run_fetch(tmp_path / "mined", tmp_path / "out", config(warc_first=True))
    assert summary["kept_total"] == 1  # no network: nowhere.invalid does not resolve
    row = pq.read_table(next((tmp_path / "out").glob("train-*.parquet"))).to_pylist()[0]
    assert row["image_source"] == "warc" and row["image_status"] == "ok"


HOOK = """
import os, signal
from mella.images import validate
_original = validate.process
_count = [0]
def _process_then_die(data, checks):
    _count[0] += 1
    if _count[0] == 7:
        os.killpg(0, signal.SIGKILL)
    return _original(data, checks)
validate.process = _process_then_die
import mella.steps.fetch as f
f.process = _process_then_die
"""


def test_kill_9_mid_fetch_then_rerun_equals_an_uninterrupted_run(tmp_path, server):
    paths = ["/ok.jpg", "/other.jpg", "/missing.jpg", "/flaky.jpg", "/tiny.jpg", "/ok-again.jpg", "/near.jpg",
             "/moved.jpg", "/html.jpg", "/animated.gif", "/robots.jpg", "/truncated.jpg"]
    mined = mined_dir(tmp_path, server.base, paths)
    run_fetch(mined, tmp_path / "reference", config(concurrency=1))
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK)
    cfg = json.dumps(config(concurrency=1).model_dump())
    job = ("import sys, json; from mella.config import FetchConfig; from mella.recipes.fetch import run_fetch; "
           "run_fetch(sys.argv[1], sys.argv[2], FetchConfig(**json.loads(sys.argv[3])))")
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", job, str(mined), str(out), cfg], env=dict(os.environ, PYTHONPATH=str(hook)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    assert proc.wait(timeout=300) == -signal.SIGKILL
    assert list((out / "logs" / "fetch" / "completions").glob("*"))  # the first shard finished before the kill
    first_shard_hits = dict(server.hits)
    run_fetch(mined, out, config(concurrency=1))
    assert server.hits["/ok.jpg"] == first_shard_hits["/ok.jpg"]  # a finished shard is not downloaded again
    assert outcomes(out) == outcomes(tmp_path / "reference")
    assert not list(out.rglob(".*.tmp"))


def test_cli_build_mines_then_fetches(tmp_path):
    from mella.warcpack import response_record, write_warc_gz

    page = '<html lang="cs"><body><img alt="Karlův most v Praze za úsvitu" src="/pic.jpg"></body></html>'.encode()
    warc = write_warc_gz(tmp_path / "c.warc.gz", [response_record("https://nowhere.invalid/a", page),
                                                  response_record("https://nowhere.invalid/pic.jpg", jpeg(seed=4),
                                                                  content_type="image/jpeg")])
    proc = subprocess.run([sys.executable, "-m", "mella.cli", "build", str(warc), "--out", str(tmp_path / "b"),
                           "--langs", "cs", "--set", "fetch.timeout=1", "--set", "export.formats=[llava]"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "images: 1 kept" in proc.stdout
    assert "caption            skipped  no captioning model configured" in proc.stdout
    llava = json.loads((tmp_path / "b" / "exports" / "llava" / "train.json").read_text())
    assert llava[0]["conversations"][1]["value"] == "Karlův most v Praze za úsvitu"
    assert (tmp_path / "b" / "exports" / "llava" / llava[0]["image"]).is_file()


def test_the_crawl_copy_is_found_whatever_the_scheme_encoding_or_srcset_variant(tmp_path):
    from mella.config import MineConfig
    from mella.recipes.mine import run_mine
    from mella.urls import url_key
    from mella.warcpack import response_record, write_warc_gz

    assert url_key("https://Host.cz:443/a%20b/%C4%8D.jpg#x") == url_key("http://host.cz/a b/č.jpg")
    assert url_key("http://host.cz/a.jpg?w=1") != url_key("http://host.cz/a.jpg?w=2")
    assert url_key("http://host.cz:99999/a.jpg") == "http://host.cz:99999/a.jpg"  # malformed: as it is
    imgs = [jpeg(seed=s) for s in (11, 12)]
    page = ('<html lang="cs"><body>'
            '<img alt="Pražský hrad v zimě za soumraku" src="https://nowhere.invalid/foto%20hrad.jpg">'
            '<img alt="Karlův most v mlze brzy ráno" src="/most-small.jpg" '
            'srcset="/most-small.jpg 300w, /most-big.jpg 1200w"></body></html>').encode()
    warc = write_warc_gz(tmp_path / "c.warc.gz", [
        response_record("https://nowhere.invalid/a", page),
        response_record("http://nowhere.invalid/foto hrad.jpg", imgs[0], content_type="image/jpeg"),  # http, decoded
        response_record("http://nowhere.invalid/most-small.jpg", imgs[1], content_type="image/jpeg"),  # small variant
    ])
    run_mine([warc], tmp_path / "mined", MineConfig(langs=["cs"]))
    summary = run_fetch(tmp_path / "mined", tmp_path / "out", config(warc_first=True, network=False))
    kept = pq.read_table(next((tmp_path / "out").glob("train-*.parquet"))).to_pylist()
    assert summary["kept_total"] == 2 and {r["image_source"] for r in kept} == {"warc"}
    assert {r["image_url"].rsplit("/", 1)[1] for r in kept} == {"foto%20hrad.jpg", "most-big.jpg"}
