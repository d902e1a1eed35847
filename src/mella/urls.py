"""URL helpers for image extraction: srcset parsing, resolution, tracker hosts."""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import unquote, urljoin, urlsplit

from mella.resources import word_list

MAX_URL_CHARS = 2048
_DESCRIPTOR = re.compile(r"^(\d+(?:\.\d+)?)([wxh])$", re.I)
PLACEHOLDER_GIFS = ("blank.gif", "spacer.gif", "pixel.gif", "transparent.gif", "loading.gif", "loader.gif",
                    "grey.gif", "gray.gif", "empty.gif", "clear.gif", "dot.gif")
PLACEHOLDER_WORDS = ("1x1", "placeholder", "lazy")


def parse_srcset(srcset: str) -> list[tuple[str, float, str]]:
    """(url, value, "w"|"x") candidates of a srcset, following the HTML parsing rules (URLs may contain commas)."""
    out: list[tuple[str, float, str]] = []
    pos, n = 0, len(srcset)
    while pos < n:
        while pos < n and (srcset[pos].isspace() or srcset[pos] == ","):
            pos += 1
        start = pos
        while pos < n and not srcset[pos].isspace():
            pos += 1
        url = srcset[start:pos]
        if not url:
            break
        descriptors = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            start = pos
            depth = 0
            while pos < n and (depth or srcset[pos] != ","):
                depth += srcset[pos] == "("
                depth -= srcset[pos] == ")"
                pos += 1
            descriptors = srcset[start:pos].strip()
        value, kind = 1.0, "x"
        for desc in descriptors.split():
            m = _DESCRIPTOR.match(desc)
            if m and m.group(2).lower() in "wx":
                value, kind = float(m.group(1)), m.group(2).lower()
        out.append((url, value, kind))
    return out


def largest_candidate(srcsets: list[str]) -> str | None:
    """The largest candidate over several srcset values (``w`` descriptors rank above ``x``)."""
    best: tuple[bool, float] | None = None
    best_url = None
    for srcset in srcsets:
        for url, value, kind in parse_srcset(srcset):
            if url.startswith("data:"):
                continue
            key = (kind == "w", value)  # widths ("640w") rank above densities ("2x")
            if best is None or key > best:
                best, best_url = key, url
    return best_url


def is_placeholder(src: str) -> bool:
    """A data: URI, an empty target, or a known lazy-loading placeholder file (blank.gif, 1x1...)."""
    low = src.lower()  # (substring tests: a regex alternation of the hints is ~8x slower)
    if low.startswith("data:") or low in ("#", "about:blank"):
        return True
    if ".gif" in low and any(h in low for h in PLACEHOLDER_GIFS):
        return True
    return any(h in low for h in PLACEHOLDER_WORDS)


def resolve(base: str | None, url: str) -> str | None:
    """Absolute http(s) URL or None."""
    url = url.strip()
    if not url or len(url) > MAX_URL_CHARS:
        return None
    if url.startswith(("https://", "http://")) and " " not in url:  # already absolute: the common case
        return url if host_of(url) else None
    if url.startswith("//"):
        url = ("https:" if not base or base.startswith("https:") else "http:") + url
    try:
        absolute = urljoin(base, url) if base else url
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return absolute


@cache
def _tracker_entries() -> tuple[frozenset[str], tuple[str, ...]]:
    entries = word_list("trackers.txt")
    return frozenset(e for e in entries if "/" not in e), tuple(e for e in entries if "/" in e)


def host_of(url: str) -> str:
    """Lower-case host of an absolute URL ("" if none), without urlsplit's cost on the common form."""
    scheme_end = url.find("://")
    if scheme_end < 0:
        return ""
    rest = url[scheme_end + 3 :]
    for sep in "/?#":
        cut = rest.find(sep)
        if cut >= 0:
            rest = rest[:cut]
    host = rest.rpartition("@")[2]
    if host.startswith("["):
        return host[1 : host.find("]")].lower() if "]" in host else ""
    return host.partition(":")[0].lower()


def is_tracker(url: str, host: str | None = None) -> bool:
    """URL on a known analytics / counter / ad host (or a parent domain of one)."""
    hosts, prefixes = _tracker_entries()
    host = host_of(url) if host is None else host
    if host in hosts:
        return True
    dot = host.find(".")
    while dot >= 0 and host.find(".", dot + 1) >= 0:  # parent domains, not the bare TLD
        if host[dot + 1 :] in hosts:
            return True
        dot = host.find(".", dot + 1)
    if prefixes:
        path = url[url.find(host) + len(host):] if host else ""
        return (host + path.partition("?")[0].lower()).startswith(prefixes)
    return False


def cctld(url: str | None) -> str | None:
    if not url:
        return None
    host = host_of(url)
    tld = host.rsplit(".", 1)[-1] if "." in host else ""
    return tld if len(tld) == 2 and tld.isalpha() else None


@cache
def _suffix_list():
    from publicsuffixlist import PublicSuffixList  # the list ships inside the package: no download

    return PublicSuffixList()


@cache
def _registered(host: str) -> str | None:
    if not host:
        return None
    if host.replace(".", "").isdigit() or ":" in host:  # an IP address is its own site
        return host
    return _suffix_list().privatesuffix(host) or host


def registered_domain(url: str | None) -> str | None:
    """The site a URL belongs to: its registered domain under the public suffix list (``www.idnes.cz`` and
    ``1gr.cz`` are two sites; ``vi.wikipedia.org`` and ``ar.wikipedia.org`` one; ``x.blogspot.com`` its own)."""
    return _registered(host_of(url.strip())) if url else None


def url_key(url: str) -> str:
    """A URL as a lookup key that ignores what does not change the resource in practice: the scheme
    (crawls store http where pages link https), the host's case, a default port, the fragment, and
    percent-encoding of characters that need none (``%C3%A9`` and ``é``, ``%7E`` and ``~``)."""
    from urllib.parse import quote, unquote, urlsplit

    try:
        parts = urlsplit(url.strip())
        port = parts.port if parts.port not in (None, 80, 443) else None
    except ValueError:  # a malformed netloc or a port out of range: the URL as it is
        return url
    host = (parts.hostname or "").lower()
    path = quote(unquote(parts.path or "/"), safe="/:@!$&'()*+,;=-._~")
    query = quote(unquote(parts.query), safe="=&/:@!$'()*+,;-._~?") if parts.query else ""
    return f"{host}{':' + str(port) if port else ''}{path}{'?' + query if query else ''}"


@cache
def _image_url_patterns() -> dict:
    import yaml

    from mella.resources import data_text

    raw = yaml.safe_load(data_text("image_url_patterns.yaml"))
    return {kind: {part: (tuple(v) if part == "phrases" else frozenset(v)) for part, v in rules.items()}
            for kind, rules in raw.items()}


_TOKEN = re.compile(r"[^\W_]+")


def image_url_kind(url: str | None) -> str | None:
    """``logo``, ``icon``, ``placeholder`` when the image URL's path says so (``data/image_url_patterns.yaml``),
    else None."""
    if not url:
        return None
    path = urlsplit(url).path if "://" in url else url.partition("?")[0]
    path = unquote(path).lower()
    directory, _, filename = path.rpartition("/")
    stem = filename.rsplit(".", 1)[0]
    dir_tokens = set(_TOKEN.findall(directory))
    file_tokens = _TOKEN.findall(stem)
    # file-name entries: the first or last token, or any token of a short name
    file_set = set(file_tokens) if len(file_tokens) <= 3 else {file_tokens[0], file_tokens[-1]}
    rules = _image_url_patterns()
    for kind in ("placeholder", "logo", "icon"):
        r = rules.get(kind, {})
        if r.get("anywhere") and (dir_tokens | file_set) & r["anywhere"]:
            return kind
        if r.get("directory") and dir_tokens & r["directory"]:
            return kind
        if r.get("file") and file_set & r["file"]:
            return kind
        if r.get("phrases") and any(p in " ".join(file_tokens) for p in r["phrases"]):
            return kind
    return None
