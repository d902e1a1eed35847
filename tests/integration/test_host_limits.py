"""Per-host politeness holds across the worker processes of a run, not only within one."""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mella.images.net import SafeFetcher


class SlowServer:
    """Answers every GET after 0.15 s and records the most requests it had in flight at once."""

    def __init__(self):
        self.in_flight = self.peak = self.total = 0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                with lock:
                    outer.in_flight += 1
                    outer.total += 1
                    outer.peak = max(outer.peak, outer.in_flight)
                time.sleep(0.15)
                with lock:
                    outer.in_flight -= 1
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", "3")
                self.end_headers()
                self.wfile.write(b"png")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def _worker(base: str, slots, n: int) -> None:
    fetcher = SafeFetcher(allowed_networks=["127.0.0.1/32"], per_host=2, host_slots=slots)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: fetcher.fetch(f"{base}/{i}.png"), range(n)))


def run_workers(server: SlowServer, slots) -> int:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(server.base, slots, 8)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    return server.peak


def test_per_host_limit_holds_across_processes(tmp_path):
    server = SlowServer()
    assert run_workers(server, str(tmp_path / "slots")) == 2 and server.total == 24
    unshared = SlowServer()
    assert run_workers(unshared, None) > 2  # each process alone keeps only its own 2


def test_a_killed_holder_frees_its_slot(tmp_path):
    import fcntl
    import os
    import signal

    slots = tmp_path / "slots"
    slots.mkdir()
    pid = os.fork()
    if pid == 0:  # a worker that takes both slots of the host, then is killed while holding them
        holders = []
        for n in range(2):
            import hashlib

            fh = open(slots / f"{hashlib.sha1(b'127.0.0.1').hexdigest()[:16]}-{n}", "a")
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            holders.append(fh)
        time.sleep(60)
        os._exit(0)
    time.sleep(0.5)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    server = SlowServer()
    fetcher = SafeFetcher(allowed_networks=["127.0.0.1/32"], per_host=2, host_slots=str(slots))
    with ThreadPoolExecutor(1) as pool:  # bounded: a slot never freed would wait forever
        assert pool.submit(fetcher.fetch, f"{server.base}/x.png").result(timeout=30).data == b"png"
