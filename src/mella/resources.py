"""Access to the data files shipped inside the package (word lists, language table, host lists)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


def data_text(name: str) -> str:
    """Text of a file under mella/data/."""
    return (files("mella") / "data" / name).read_text(encoding="utf-8")


def data_exists(name: str) -> bool:
    return (files("mella") / "data" / name).is_file()


@cache
def word_list(name: str) -> frozenset[str]:
    """A one-entry-per-line list (``#`` comments, blank lines ignored), case-folded."""
    if not data_exists(name):
        return frozenset()
    out = set()
    for line in data_text(name).splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.add(line.casefold())
    return frozenset(out)
