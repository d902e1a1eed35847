"""Images/s of `mella fetch` vs img2dataset on the same URLs from a local HTTP server, same concurrency.

The server (127.0.0.1) serves N real-size JPEGs (1200x900, ~150-300 KB, smooth synthetic pictures),
of which ~10% answer slowly (0.3 s), 5% are 404 and 5% redirect to another image. Both tools resize to a
longest side of 1024 and re-encode JPEG at quality 90, with T threads in one process. img2dataset runs
in its own virtual environment (bench/.venv-img2dataset, created on first use: its pins clash with ours).

Usage: python bench/fetch.py [--images 400] [--threads 16] [--skip-img2dataset]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import timed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
I2D_VENV = ROOT / "bench" / ".venv-img2dataset"


def make_jpeg(seed: int) -> bytes:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    h, w = 900, 1200
    y, x = np.mgrid[0:h, 0:w]
    arr = np.stack([127 + 120 * np.sin(x / rng.uniform(40, 200) + seed), 127 + 120 * np.cos(y / rng.uniform(40, 200)),
                    (x + y) % 256], axis=-1) + rng.normal(0, 12, (h, w, 3))
    buf = io.BytesIO()
    Image.fromarray(np.clip(arr, 0, 255).astype("uint8")).save(buf, format="JPEG", quality=88)
    return buf.getvalue()


def serve(images: list[bytes]) -> tuple[ThreadingHTTPServer, str, dict]:
    plan = {}
    rnd = random.Random(0)
    for i in range(len(images)):
        r = rnd.random()
        plan[i] = "slow" if r < 0.10 else "404" if r < 0.15 else "redirect" if r < 0.20 else "ok"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802
            i = int(self.path.strip("/").split(".")[0])
            kind = plan[i]
            if kind == "404":
                return self._send(404, b"missing", "text/plain")
            if kind == "redirect":
                self.send_response(302)
                self.send_header("Location", f"/{(i + 1) % len(images)}.jpg?r=1")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if kind == "slow":
                time.sleep(0.3)
            self._send(200, images[i], "image/jpeg")

        def _send(self, status, body, ctype):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    class Quiet(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, *args):
            pass

    httpd = Quiet(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}", plan


def ensure_img2dataset() -> Path:
    python = I2D_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(I2D_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "img2dataset"], check=True)
    return I2D_VENV / "bin" / "img2dataset"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=400)
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--skip-img2dataset", action="store_true")
    args = ap.parse_args()
    distinct = [make_jpeg(s) for s in range(40)]
    images = [distinct[i % len(distinct)] for i in range(args.images)]
    httpd, base, plan = serve(images)
    urls = [f"{base}/{i}.jpg" for i in range(args.images)]
    ok_urls = sum(1 for k in plan.values() if k != "404")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        from datatrove.data import Document, Media, MediaType

        from mella.schema import MINED_COLUMNS
        from mella.steps.write import ParquetShardWriter

        mined = tmp / "mined"
        docs = [Document(text=f"caption {i}", id=f"r{i:06d}", media=[Media(id="0", type=MediaType.IMAGE, url=u)],
                         metadata={"lid.lang": "cs"}) for i, u in enumerate(urls)]
        list(ParquetShardWriter(mined, MINED_COLUMNS, prefix="train").run(iter(docs), 0, 1))
        mella = shutil.which("mella") or str(Path(sys.executable).parent / "mella")
        cfg = tmp / "fetch.yaml"
        cfg.write_text(json.dumps({"allowed_networks": ["127.0.0.1/32"], "concurrency": args.threads,
                                   "per_host": args.threads, "max_side": 1024, "quality": 90, "min_side": 10,
                                   "phash_distance": 0, "shard_records": 100_000, "warc_first": False}))
        m_wall, m_rss, m_out = timed([mella, "fetch", str(mined), "--out", str(tmp / "mella-out"), "--config", str(cfg)])
        m_stats = json.loads((tmp / "mella-out" / "stats.json").read_text())
        fetched = m_stats["kept_total"] + m_stats["dropped_by_reason"].get("dup_image_exact", 0)
        print(f"URLs: {args.images} ({ok_urls} answerable: 10% slow, 5% redirect, 5% 404), threads {args.threads}")
        print(f"mella fetch : {m_wall:6.2f} s  {fetched / m_wall:7.1f} images/s  peak RSS {m_rss} MiB  "
              f"(kept {m_stats['kept_total']} after dedup; fetched {fetched})")
        if args.skip_img2dataset:
            return
        img2dataset = ensure_img2dataset()
        (tmp / "urls.txt").write_text("\n".join(urls) + "\n")
        i_wall, i_rss, _ = timed([str(img2dataset), "--url_list", str(tmp / "urls.txt"), "--input_format", "txt",
                                  "--output_folder", str(tmp / "i2d-out"), "--output_format", "webdataset",
                                  "--processes_count", "1", "--thread_count", str(args.threads),
                                  "--image_size", "1024", "--resize_mode", "keep_ratio_largest",
                                  "--resize_only_if_bigger", "True", "--encode_quality", "90", "--enable_wandb", "False",
                                  "--number_sample_per_shard", "100000", "--distributor", "multiprocessing"])
        stats = [json.loads(p.read_text()) for p in (tmp / "i2d-out").glob("*_stats.json")]
        i_ok = sum(s.get("successes", 0) for s in stats)
        print(f"img2dataset : {i_wall:6.2f} s  {i_ok / i_wall:7.1f} images/s  peak RSS {i_rss} MiB  (ok {i_ok})")
        print(f"ratio mella/img2dataset images/s: {(fetched / m_wall) / (i_ok / i_wall):.2f}  (goal >= 1.0)")
    httpd.shutdown()


if __name__ == "__main__":
    main()
