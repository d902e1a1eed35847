"""Shared by the bench scripts: run a command in a fresh process, measure wall time and peak RSS."""

from __future__ import annotations

import subprocess
import sys

_WRAPPER = ("import resource,subprocess,sys,time;t=time.perf_counter();"
            "p=subprocess.run(sys.argv[1:],capture_output=True,text=True);w=time.perf_counter()-t;"
            "print(w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, sep='\\t');"
            "print(p.stdout[-3000:]);print(p.stderr[-3000:], file=sys.stderr);sys.exit(p.returncode)")


def timed(cmd: list[str], env=None) -> tuple[float, int, str]:
    """(wall seconds, peak RSS MiB of the largest process of the tree, the command's stdout tail)."""
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    head, _, rest = proc.stdout.partition("\n")
    wall, rss_kib = head.split("\t")
    return float(wall), int(rss_kib) // 1024, rest
