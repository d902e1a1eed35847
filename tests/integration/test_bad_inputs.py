"""No input may abort a job, hang it, or lose good records (tests/data/bad, made by make_bad.py, plus
hostile servers and configurations): every case runs in a subprocess with a time limit, the bad item is a
named, counted drop, and the good records beside it are kept with their own page."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from helpers import make_table, rows

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
GOOD = {"https://good.cz/1": "Karlův most v Praze za úsvitu",
        "https://good.cz/2": "Lidé na Staroměstském náměstí během vánočních trhů"}


def mella(*args, timeout=90, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mella.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, **(env or {})))


def stats(folder: Path) -> dict:
    return json.loads((folder / "stats.json").read_text(encoding="utf-8"))


def counters(summary: dict) -> dict:
    out: dict = {}
    for step in summary["steps"].values():
        for key, n in step.items():
            out[key] = out.get(key, 0) + n
    return out


# -- mine ----------------------------------------------------------------------------------------------

MINE_CASES = {  # file -> the named drop reason, or the counter, that the bad item must produce
    "length_too_large.warc.gz": ("counter", "warc_length_mismatch"),
    "length_huge.warc.gz": ("counter", "warc_length_mismatch"),
    "length_too_small.warc.gz": ("reason", "warc_framing_error"),
    "length_too_small.warc": ("reason", "warc_framing_error"),
    "length_negative.warc.gz": ("reason", "warc_framing_error"),
    "target_uri_33k.warc.gz": ("reason", "warc_framing_error"),
    "header_line_70k.warc.gz": ("reason", "warc_framing_error"),
    "corrupt_gzip_member.warc.gz": ("reason", "warc_framing_error"),
    "nested_600k_divs.warc.gz": ("reason", "html_too_deep"),
    "chunked_but_plain.warc.gz": ("kept", "Tramvaj projíždí ulicí v centru Brna"),
    "control_and_bidi.warc.gz": ("kept", "Pražský hrad v noci , osvětlený reflektory"),
}


@pytest.mark.parametrize("name", sorted(MINE_CASES))
def test_mine_keeps_the_neighbours_of_every_bad_item(tmp_path, name):
    out = tmp_path / "out"
    started = time.monotonic()
    proc = mella("mine", BAD / name, "--out", out, "--langs", "cs", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started < 60 and "Traceback" not in proc.stderr
    kept = {r["text"]: r for r in rows(out)}
    for page_url, text in GOOD.items():
        assert kept[text]["page_url"] == page_url and kept[text]["page_title"] == f"Stránka {page_url[-1]}"
    summary = stats(out)
    kind, what = MINE_CASES[name]
    if kind == "reason":
        assert summary["dropped_by_reason"].get(what) == 1
    elif kind == "counter":
        assert counters(summary).get(what) == 1
        assert kept["Hrad Karlštejn obklopený podzimními lesy"]["page_url"] == "https://bad.cz/b"  # cut, not lost
    else:
        assert what in kept  # repaired: the page is read (chunked header on a plain body; control characters)
    for text in kept:
        assert text.isprintable()


def test_pair_table_rows_fail_alone_with_unique_ids(tmp_path):
    out = tmp_path / "out"
    proc = mella("mine", BAD / "pairs.jsonl", BAD / "same_name", "--out", out, "--langs", "vi",
                 "--set", "dedup.near=false")
    assert proc.returncode == 0, proc.stderr
    kept = rows(out)
    texts = {r["text"] for r in kept}
    assert {"Chùa Một Cột ở Hà Nội vào buổi sáng", "Vịnh Hạ Long nhìn từ trên cao", "Phố cổ Hội An về đêm",
            "Cầu Rồng ở Đà Nẵng", "Thành phố Huế, ảnh a", "Thành phố Huế, ảnh b"} <= texts
    ids = [r["id"] for r in kept] + [r["id"] for r in rows(out / "excluded", "excluded")]
    assert len(ids) == len(set(ids))  # repeated `id`, the same file name in two folders: still unique
    reasons = stats(out)["dropped_by_reason"]
    assert reasons["bad_json_line"] == 1 and reasons["undecodable_line"] == 1 and reasons["not_an_object"] == 1
    excluded = {r["text"]: r["reason"] for r in rows(out / "excluded", "excluded")}
    surrogate = [t for t in excluded if t.startswith("lone")]
    assert surrogate and "\ufffd" in surrogate[0]  # a lone surrogate: replaced, then a named drop
    assert all(t.isprintable() for t in texts)


# -- fetch ---------------------------------------------------------------------------------------------

def jpeg(color) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (160, 120), color).save(buf, format="JPEG")
    return buf.getvalue()


class HostileServer:
    """Good images, images in every odd format, redirects to broken URLs, and a server that trickles."""

    def __init__(self):
        outer = self
        self.base = ""
        routes = {"/good-a.jpg": jpeg((200, 40, 40)), "/good-b.jpg": jpeg((40, 40, 200)),
                  "/img/%D0%BA%D0%B0%D1%80%D1%82%D0%B8%D0%BD%D0%BA%D0%B0.jpg": jpeg((40, 200, 40)),
                  "/png16.png": (BAD / "png16.png").read_bytes(), "/exif.jpg": (BAD / "exif_rotated.jpg").read_bytes()}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                path = self.path
                if path.startswith("/to-"):
                    target = {"/to-port": "http://127.0.0.1:99999/x.jpg", "/to-label": "http://a..b/x.jpg",
                              "/to-long": f"http://{'x' * 64}.cz/x.jpg", "/to-unicode": outer.base + "/img/картинка.jpg"}
                    self.send_response(302)  # raw UTF-8 bytes in the header, as real servers send them
                    self.send_header("Location", target[path.split(".")[0]].encode("utf-8").decode("latin-1"))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if path == "/slow-body.jpg":  # headers at once, then one byte every 0.4 s
                    body = jpeg((9, 9, 9))
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    for byte in body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(0.4)
                    return
                if path == "/slow-headers.jpg":  # the status line and headers trickle in
                    for char in b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nX-Padding: " + b"a" * 200:
                        self.wfile.write(bytes([char]))
                        self.wfile.flush()
                        time.sleep(0.2)
                    return
                body = routes.get(path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "image/jpeg" if path.endswith(".jpg") else "image/png")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args):
                pass

        class Quiet(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


FETCH_CASES = {  # URL path (or absolute URL) -> outcome
    "/good-a.jpg": "ok", "/img/картинка.jpg": "ok", "/to-unicode.jpg": "dup_image_exact",  # redirected to the last
    "/png16.png": "ok", "/exif.jpg": "ok",
    "http://127.0.0.1:99999/x.jpg": "bad_url", "/to-port.jpg": "bad_url",
    "http://a..b/x.jpg": "bad_host", "/to-label.jpg": "bad_host",
    f"http://{'x' * 64}.cz/x.jpg": "bad_host", "/to-long.jpg": "bad_host",
    "/slow-body.jpg": "deadline_exceeded", "/slow-headers.jpg": "deadline_exceeded",
    "/good-b.jpg": "ok",
}


def test_fetch_contains_hostile_urls_and_servers_and_converts_odd_images(tmp_path):
    from datatrove.data import Document, Media, MediaType

    from mella.schema import MINED_COLUMNS
    from mella.steps.write import ParquetShardWriter
    from mella.table import write_manifest

    server = HostileServer()
    try:
        urls = [u if u.startswith("http") else server.base + u for u in FETCH_CASES]
        docs = [Document(text=f"Obrázek číslo {n}", id=f"r{n:02d}", metadata={"lid.lang": "cs"},
                         media=[Media(id="0", type=MediaType.IMAGE, url=u)]) for n, u in enumerate(urls)]
        mined = tmp_path / "mined"
        list(ParquetShardWriter(mined, MINED_COLUMNS, prefix="train").run(iter(docs), 0, 1))
        write_manifest(mined, "mine", None, len(docs))
        started = time.monotonic()
        proc = mella("fetch", mined, "--out", tmp_path / "out", "--allow-private", "--set", "timeout=1",
                     "--set", "deadline=2", "--set", "retries=0", "--set", "min_side=32", timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert time.monotonic() - started < 60 and "Traceback" not in proc.stderr
    finally:
        server.close()
    out = tmp_path / "out"
    got = {r["id"]: r["image_status"] for r in rows(out)}
    got |= {r["id"]: r["reason"] for r in rows(out / "excluded", "excluded-fetch") + rows(out / "excluded", "excluded-dedup")}
    assert [got[f"r{n:02d}"] for n in range(len(urls))] == list(FETCH_CASES.values())
    from PIL import Image

    store = out / json.loads((out / "table.json").read_text())["image_store"]
    by_id = {r["id"]: r for r in rows(out)}

    def image(record_id):
        r = by_id[record_id]
        return Image.open(store / r["sha256"][:2] / f"{r['sha256']}.{r['image_ext']}")

    ramp = image("r03").convert("L")  # 16-bit PNG: black to white, not almost all white
    assert ramp.getpixel((2, 40)) < 20 and 110 < ramp.getpixel((128, 40)) < 145 and ramp.getpixel((253, 40)) > 235
    upright = image("r04").convert("RGB")  # EXIF orientation 6: the blue strip (left) is now on top
    assert upright.size == (100, 200) and upright.getpixel((50, 15))[2] > 150 and upright.getpixel((50, 185))[0] > 150
    assert 0x0112 not in upright.getexif()


# -- caption / translate / align inputs ----------------------------------------------------------------

def test_model_stages_name_missing_and_corrupt_images_and_runaway_captions(tmp_path, data_dir):
    import tiny_models
    from chat_server import ChatServer
    from mella.config import AlignConfig, CaptionConfig, TranslateConfig
    from mella.recipes.ling import run_align, run_caption, run_translate

    fetched = make_table(tmp_path / "fetched", [{} for _ in range(4)])
    store = fetched / "images"
    table = rows(fetched)
    (store / table[1]["sha256"][:2] / f"{table[1]['sha256']}.png").unlink()  # missing from the store
    (store / table[2]["sha256"][:2] / f"{table[2]['sha256']}.png").write_bytes(b"\x89PNG not really")  # corrupt
    captions = ChatServer(lambda body, n: (200, "A stone bridge over a river." if n != 3 else "word " * 2000))
    translations = ChatServer(lambda body, n: (200, "Kamenný most přes řeku."))
    env_cache = {"MELLA_CACHE_DIR": str(tmp_path / "cache")}
    os.environ.update(env_cache)
    try:
        run_caption(fetched, tmp_path / "cap", CaptionConfig(backend="openai", model="m", base_url=captions.url,
                                                            backoff=0.01, batch_size=1))
        run_translate(tmp_path / "cap", tmp_path / "mt", TranslateConfig(
            backend="openai", model="t", base_url=translations.url, similarity=False, max_source_chars=5000))
        texts = (data_dir / "ntrex" / "newstest2019-ref.ces.txt").read_text(encoding="utf-8").splitlines()
        clip = tiny_models.tiny_clip(tmp_path / "clip", texts)
        summary = run_align(tmp_path / "mt", tmp_path / "al", AlignConfig(model=str(clip)))
    finally:
        captions.close()
        translations.close()
    final = {r["id"]: r for r in rows(tmp_path / "al")}
    assert len(final) == 4  # nothing dropped, every failure named in its column
    assert final["r001"]["caption_error"].startswith("image_missing")
    assert final["r001"]["translation_error"].startswith("no_caption") and final["r001"]["align_score"] is None
    assert final["r002"]["align_score"] is None  # corrupt file: no score, the batch went on
    long_one = [r for r in final.values() if r["caption_en"] and len(r["caption_en"]) > 5000]
    assert len(long_one) == 1 and long_one[0]["translation_error"].startswith("source_too_long")
    assert final["r000"]["translation"] == "Kamenný most přes řeku." and final["r000"]["align_score"] is not None
    align_counts = counters(summary)
    assert align_counts["failed_align_image_missing"] == 1 and align_counts["failed_align_bad_image"] == 1


# -- eval score ----------------------------------------------------------------------------------------

def test_eval_score_bad_files_are_one_message_and_separators_stay_in_their_line(tmp_path):
    ev = BAD / "eval"
    empty = mella("eval", "score", "--lang", "cs", "--hyp", ev / "empty.txt", "--ref", ev / "ref_two.txt")
    assert empty.returncode == 2 and "is empty" in empty.stderr and "Traceback" not in empty.stderr
    latin = mella("eval", "score", "--lang", "cs", "--hyp", ev / "latin1.txt", "--ref", ev / "latin1.txt")
    assert latin.returncode == 2 and "not UTF-8 (line 1" in latin.stderr
    separators = mella("eval", "score", "--lang", "cs", "--hyp", ev / "hyp_separators.txt", "--ref", ev / "ref_two.txt")
    assert separators.returncode == 0, separators.stderr
    assert json.loads(separators.stdout)["n"] == 2  # U+2028 and NEL did not make four lines
    long = tmp_path / "long.txt"
    long.write_text("slovo " * 200_000 + "\nkrátká věta\n", encoding="utf-8")  # a 1.2 MB line
    ref = tmp_path / "ref.txt"
    ref.write_text("dlouhá věta\nkrátká věta\n", encoding="utf-8")
    started = time.monotonic()
    scored = mella("eval", "score", "--lang", "cs", "--hyp", long, "--ref", ref, timeout=60)
    assert scored.returncode == 0 and time.monotonic() - started < 60, scored.stderr
    result = json.loads(scored.stdout)
    assert result["n"] == 1 and result["skipped_too_long"] == 1


# -- configuration and usage errors: one message, exit 2, before any work ------------------------------

@pytest.mark.parametrize("args, says", [
    (["--set", "foo.bar=1"], "foo: unknown key"),
    (["--set", "lid.min_score=abc"], "lid.min_score"),
    (["--config", "missing.yaml"], "config file not found"),
    (["--config", "BAD_YAML"], "not valid YAML"),
    (["--set", "write.compression=bogus"], "write.compression"),
    (["--set", "dedup.capacity=0"], "dedup.capacity"),
    (["--langs", "xx"], "unknown language"),
    (["--out-is-a-file"], "is a file"),
    (["--out-unwritable"], "cannot write to --out"),
])
def test_configuration_errors_are_one_message_before_any_work(tmp_path, data_dir, args, says):
    out = tmp_path / "out"
    if args == ["--config", "BAD_YAML"]:
        (tmp_path / "bad.yaml").write_text("lid: [unclosed\n", encoding="utf-8")
        args = ["--config", str(tmp_path / "bad.yaml")]
    elif args == ["--config", "missing.yaml"]:
        args = ["--config", str(tmp_path / "missing.yaml")]
    elif args == ["--out-is-a-file"]:
        out.write_text("x")
        args = []
    elif args == ["--out-unwritable"]:
        out = Path("/proc/mella-cannot-write-here")
        args = []
    proc = mella("mine", data_dir / "fundus" / "kr", "--out", out, *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert says in proc.stderr and "Traceback" not in proc.stderr
    if out.is_dir():
        assert not (out / "job.json").exists()
    fixed = tmp_path / "fixed"
    if args[:1] == ["--set"]:  # the fixed rerun into the same folder is not refused
        mella("mine", data_dir / "fundus" / "kr", "--out", fixed, *args)
        ok = mella("mine", data_dir / "fundus" / "kr", "--out", fixed, "--langs", "ko")
        assert ok.returncode == 0, ok.stderr


@pytest.mark.parametrize("args, says", [
    (["eval", "score", "--lang", "xx", "--hyp", "H", "--ref", "H"], "unknown language 'xx'"),
    (["eval", "score", "--lang", "CS", "--hyp", "H", "--ref", "H"], "language codes are lower case: cs"),
    (["eval", "score", "--lang", "sr-Arab", "--hyp", "H", "--ref", "H"], "sr is written in Cyrl, Latn"),
    (["eval", "run", "--task", "BADTASK", "--out", "R", "--backend", "dummy", "--model", "d"], "is not a task file"),
    (["eval", "run", "--task", "DIR", "--out", "R", "--backend", "dummy", "--model", "d"], "no task files"),
    (["eval", "report", "DIR", "--out", "R"], "is not an evaluation run (no run.json)"),
    (["eval", "build", "--out", "R", "--wit", "H", "--wit-kind", "both"], "--wit-kind 'both'"),
    (["mine", "FUNDUS", "--out", "R", "--langs", "sr-Latn"], "give the language code alone; sr covers every script"),
    (["mine", "FUNDUS", "--out", "R", "--langs", "xx", "--dry-run"], "unknown language"),
])
def test_usage_errors_of_eval_and_mine_are_one_message(tmp_path, data_dir, args, says):
    (tmp_path / "h.txt").write_text("Karlův most\n", encoding="utf-8")
    (tmp_path / "bad.yaml").write_text("task: [unclosed\n", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    names = {"H": tmp_path / "h.txt", "BADTASK": tmp_path / "bad.yaml", "DIR": tmp_path / "empty",
             "R": tmp_path / "r", "FUNDUS": data_dir / "fundus" / "kr"}
    proc = mella(*[names.get(a, a) for a in args])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert says in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "r").exists()


def test_a_model_of_the_wrong_kind_is_one_message(tmp_path):
    import json as json_

    clip = tmp_path / "clip"
    clip.mkdir()
    (clip / "config.json").write_text(json_.dumps({"model_type": "clip"}))
    table = make_table(tmp_path / "t", [{"caption.en": "A red boat at a pier in the old harbour."}],
                       steps=("mine", "fetch", "caption"))
    for args, says in ((["caption", table, "--backend", "transformers"], "is a clip model, not a vision-language model"),
                       (["translate", table, "--backend", "transformers"], "not a translation model"),
                       (["align", table], None)):
        proc = mella(*args, "--model", clip, "--out", tmp_path / "out")
        if says is None:  # a clip model is what align wants: past the check, this stub fails to load: one message
            assert proc.returncode == 2 and "not a dual encoder" not in proc.stderr, proc.stderr
            assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()
            continue
        assert proc.returncode == 2 and says in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert not (tmp_path / "out").exists()


def test_fetch_on_a_table_without_source_file(tmp_path):
    folder = make_table(tmp_path / "t", [{}], steps=("mine",), images=False)
    path = next(folder.glob("train-*.parquet"))
    table = pq.read_table(path)
    pq.write_table(table.drop_columns(["source_file"]), path)
    proc = mella("fetch", folder, "--out", tmp_path / "f", "--offline")
    assert proc.returncode == 4 and "Traceback" not in proc.stderr  # ran: no crawl copy, nothing kept, said so
    assert stats(tmp_path / "f")["dropped_by_reason"] == {"not_in_crawl": 1}


# -- output folders: one run at a time, dead runs, broken shards ---------------------------------------

def test_a_second_run_on_the_same_folder_fails_at_once_and_a_dead_runs_lock_is_taken_over(tmp_path, data_dir):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from mella.recipes.common import open_output\n"
        "with open_output(__import__('pathlib').Path(sys.argv[1])):\n"
        "    print('locked', flush=True); time.sleep(60)\n"), str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        second = mella("mine", data_dir / "fundus" / "kr", "--out", out, "--langs", "ko")
        assert second.returncode == 2 and "in use by another mella run (pid" in second.stderr
        assert time.monotonic() - started < 30
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    third = mella("mine", data_dir / "fundus" / "kr", "--out", out, "--langs", "ko")  # the dead run's lock
    assert third.returncode == 0, third.stderr


KILL_ONE_WORKER = """
import os, signal
import mella.steps.read as read
_original = read.InputReader.read_html_file
def _die_on(self, path, rank):
    if path.name.startswith("MBN") and not os.environ.get("MELLA_NO_KILL"):
        os.kill(os.getpid(), signal.SIGKILL)  # this worker only: the parent and the other worker live on
    return _original(self, path, rank)
read.InputReader.read_html_file = _die_on
"""


def test_a_dead_worker_ends_the_run_as_incomplete_and_the_rerun_completes(tmp_path, data_dir):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(KILL_ONE_WORKER)
    out = tmp_path / "out"
    args = ("mine", data_dir / "fundus" / "kr", "--out", out, "--langs", "ko", "--workers", "2")
    started = time.monotonic()
    dead = mella(*args, env={"PYTHONPATH": str(hook)}, timeout=120)
    assert dead.returncode == 3 and "did not complete" in dead.stderr, dead.stderr
    assert time.monotonic() - started < 120
    again = mella(*args, env={"PYTHONPATH": str(hook), "MELLA_NO_KILL": "1"})
    assert again.returncode == 0, again.stderr
    reference = mella("mine", data_dir / "fundus" / "kr", "--out", tmp_path / "ref", "--langs", "ko")
    assert reference.returncode == 0
    assert sorted(r["id"] for r in rows(out)) == sorted(r["id"] for r in rows(tmp_path / "ref"))


def test_a_finished_task_whose_shard_is_short_or_broken_is_redone(tmp_path, data_dir):
    out = tmp_path / "out"
    assert mella("mine", data_dir / "fundus" / "kr", "--out", out, "--langs", "ko").returncode == 0
    before = sorted(r["id"] for r in rows(out))
    shard = next(out.glob("train-*.parquet"))
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])  # a disk that filled up
    again = mella("mine", data_dir / "fundus" / "kr", "--out", out, "--langs", "ko")
    assert again.returncode == 0, again.stderr
    assert sorted(r["id"] for r in rows(out)) == before
    shard = next(out.glob("train-*.parquet"))
    shard.unlink()  # a shard someone deleted
    assert mella("mine", data_dir / "fundus" / "kr", "--out", out, "--langs", "ko").returncode == 0
    assert sorted(r["id"] for r in rows(out)) == before


SLOW_PAGES = """
import time
import mella.steps.read as read
_original = read.InputReader.read_html_file
def _slow(self, path, rank):
    time.sleep(1.0)
    return _original(self, path, rank)
read.InputReader.read_html_file = _slow
"""


def test_ctrl_c_stops_a_multi_worker_run_at_once_and_the_rerun_completes(tmp_path, data_dir):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SLOW_PAGES)
    crawl = tmp_path / "crawl"
    crawl.mkdir()
    page = data_dir / "fundus" / "kr" / "HankookIlbo_2025_05_15.html.gz"
    urls = dict(line.split("\t", 1) for line in (data_dir / "fundus" / "kr" / "urls.tsv").read_text(
        encoding="utf-8").splitlines() if "\t" in line)
    url = urls.get(page.name) or urls[page.name.removesuffix(".gz")]
    for i in range(16):
        (crawl / f"p{i:02d}.html.gz").write_bytes(page.read_bytes())
    (crawl / "urls.tsv").write_text("".join(f"p{i:02d}.html.gz\t{url}?copy={i}\n" for i in range(16)),
                                    encoding="utf-8")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "mella.cli", "mine", str(crawl), "--out", str(out), "--langs", "ko", "--workers", "2"]
    env = dict(os.environ, PYTHONPATH=str(hook))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    time.sleep(4)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "rerun the same command to resume" in err, err
    done = len(list((out / "logs" / "stage1" / "completions").glob("*")))
    assert done < 12  # the queued pages were not started (about 4 of 16 had finished at 1 s each on 2 workers)
    again = mella("mine", crawl, "--out", out, "--langs", "ko", "--workers", "2", timeout=120)
    assert again.returncode == 0, (again.stderr, again.stdout)
    assert len(list((out / "logs" / "stage1" / "completions").glob("*"))) == 16
