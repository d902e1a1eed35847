"""An SSRF-safe HTTP(S) image fetcher.

Every hop (the first URL and each redirect) is resolved here, every resolved address must be public
(not loopback, private, link-local, multicast, reserved or unspecified) unless ``allow_private``, and the
connection goes to the address that was checked (no second DNS lookup that could be rebound). Only http
and https. Bytes are streamed and the transfer is aborted past ``max_bytes``; redirects are capped;
429/5xx and timeouts are retried with exponential backoff; ``X-Robots-Tag: noai``/``noimageai`` is
honoured by default (as img2dataset does).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from mella import __version__
from mella.errors import NamedError

USER_AGENT = f"mella/{__version__} (+https://github.com/mella-project/mella; image-text dataset builder)"
ROBOTS_DENY = {"noai", "noimageai", "noindex", "none"}


class FetchError(NamedError):
    """A failed fetch; ``kind`` is the named reason (blocked_private_address, too_large, http_404...)."""


@dataclass
class Fetched:
    url: str  # the final URL after redirects
    status: int
    content_type: str
    data: bytes
    redirects: int = 0
    headers: dict = field(default_factory=dict)


def check_address(ip: str, allow_private: bool, allowed_networks: tuple = ()) -> None:
    """Raises FetchError unless ``ip`` is public, or private and allowed (all private, or listed)."""
    addr = ipaddress.ip_address(ip)
    if getattr(addr, "ipv4_mapped", None):
        addr = addr.ipv4_mapped
    if any(addr in net for net in allowed_networks):
        return
    if allow_private:
        if addr.is_multicast or addr.is_unspecified:
            raise FetchError("blocked_address", ip)
        return
    if addr.is_loopback:
        raise FetchError("blocked_loopback_address", ip)
    if addr.is_link_local:
        raise FetchError("blocked_link_local_address", ip)
    if addr.is_private or addr.is_reserved or addr.is_multicast or addr.is_unspecified or not addr.is_global:
        raise FetchError("blocked_private_address", ip)


def resolve(host: str, port: int, allow_private: bool, allowed_networks: tuple = ()) -> str:
    """The first address of ``host`` that passes the checks (all are checked: one bad answer blocks)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise FetchError("dns_error", f"{host}: {e}") from None
    except (UnicodeError, ValueError) as e:  # an empty or over-long label, a NUL byte...
        raise FetchError("bad_host", f"{host[:100]}: {e}") from None
    addresses = [info[4][0] for info in infos]
    for ip in addresses:
        check_address(ip, allow_private, allowed_networks)
    return addresses[0]


def request_target(url: str) -> tuple[str, int, str, str, str]:
    """(host as IDNA ASCII, port, path+query percent-encoded, Host header, scheme) of an absolute URL, or
    FetchError: a port out of range or a malformed netloc (``bad_url``), a host whose labels are empty or
    too long (``bad_host``), a scheme other than http(s) (``bad_scheme``). Paths and queries in any
    script (``/img/картинка.jpg``) are sent percent-encoded, as browsers do."""
    from urllib.parse import quote

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise FetchError("bad_url", f"{url[:200]}: {e}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError("bad_scheme", parts.scheme or url[:200])
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except (UnicodeError, ValueError) as e:
        raise FetchError("bad_host", f"{parts.hostname[:100]}: {e}") from None
    port = port or (443 if parts.scheme == "https" else 80)
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    default = port == (443 if parts.scheme == "https" else 80)
    return host, port, path, host if default else f"{host}:{port}", parts.scheme


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, ip: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._ip = ip

    def connect(self):
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, ip: str, port: int, timeout: float, context: ssl.SSLContext):
        super().__init__(host, port, timeout=timeout, context=context)
        self._ip = ip

    def connect(self):
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class HostLimiter:
    """At most ``per_host`` requests in flight to one host (politeness), across the threads of a process
    and, with ``slots_dir``, across every process that shares that folder: the workers of a run (local
    processes, or Ray workers of one machine; a shared filesystem with working ``flock`` extends it to a
    cluster). A slot is an exclusive ``flock`` on ``<slots_dir>/<host hash>-<n>``; the kernel releases it
    when its holder dies, so a killed worker never keeps a host's slot."""

    def __init__(self, per_host: int, slots_dir: str | None = None, poll: float = 0.02):
        self.per_host, self.slots_dir, self.poll = per_host, slots_dir, poll
        self._lock = threading.Lock()
        self._sems: dict[str, threading.Semaphore] = {}

    def _sem(self, host: str) -> threading.Semaphore:
        with self._lock:
            if host not in self._sems:
                self._sems[host] = threading.Semaphore(self.per_host)
            return self._sems[host]

    @contextmanager
    def __call__(self, host: str):
        with self._sem(host):
            if self.slots_dir is None:
                yield
                return
            fh = self._slot(host)
            try:
                yield
            finally:
                fh.close()  # releases the flock

    def _slot(self, host: str):
        import fcntl
        import hashlib
        import os
        import random

        os.makedirs(self.slots_dir, exist_ok=True)
        stem = hashlib.sha1(host.encode()).hexdigest()[:16]
        order = list(range(self.per_host))
        while True:
            random.shuffle(order)
            for n in order:
                fh = open(os.path.join(self.slots_dir, f"{stem}-{n}"), "a")
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return fh
                except OSError:
                    fh.close()
            time.sleep(self.poll * (0.5 + random.random()))


class SafeFetcher:
    def __init__(self, allow_private: bool = False, timeout: float = 10.0, max_bytes: int = 20_000_000,
                 max_redirects: int = 3, retries: int = 2, backoff: float = 0.5, per_host: int = 4,
                 honour_robots_header: bool = True, user_agent: str = USER_AGENT,
                 allowed_networks: list[str] | tuple = (), deadline: float = 60.0, host_slots: str | None = None):
        """``allow_private``: every private/loopback/link-local address is allowed; ``allowed_networks``:
        only these CIDRs are (e.g. ``["127.0.0.1/32"]`` for a test server). ``timeout`` bounds each socket
        operation, ``deadline`` the whole request (a server trickling bytes cannot hold a thread).
        ``host_slots``: a folder that makes ``per_host`` hold across processes (HostLimiter)."""
        self.allow_private, self.timeout, self.max_bytes = allow_private, timeout, max_bytes
        self.deadline = deadline
        self.allowed_networks = tuple(ipaddress.ip_network(n) for n in allowed_networks)
        self.max_redirects, self.retries, self.backoff = max_redirects, retries, backoff
        self.honour_robots_header, self.user_agent = honour_robots_header, user_agent
        self.per_host, self.host_slots = per_host, host_slots
        self._setup()

    def _setup(self) -> None:
        self.limiter = HostLimiter(self.per_host, self.host_slots)
        self._ssl = ssl.create_default_context()

    def __getstate__(self):  # locks and SSL contexts are per process: rebuilt after pickling/copying
        return {k: v for k, v in self.__dict__.items() if k not in ("limiter", "_ssl")}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._setup()

    def fetch(self, url: str) -> Fetched:
        """GET ``url`` following redirects safely; raises FetchError with a named kind."""
        last: FetchError | None = None
        for attempt in range(self.retries + 1):
            try:
                return self._follow(url)
            except FetchError as e:
                retryable = e.kind in ("timeout", "connection_error", "http_429") or e.kind.startswith("http_5")
                if not retryable:
                    raise
                last = e
            if attempt < self.retries:
                time.sleep(self.backoff * 2**attempt)
        assert last is not None
        raise last

    def _follow(self, url: str) -> Fetched:
        seen: set[str] = set()
        for hop in range(self.max_redirects + 1):
            if url in seen:
                raise FetchError("redirect_loop", url)
            seen.add(url)
            status, headers, data = self._get(url)
            if status in (301, 302, 303, 307, 308):
                location = headers.get("location")
                if not location:
                    raise FetchError("bad_redirect", f"{status} without Location")
                try:  # http.client reads headers as latin-1; servers send UTF-8 paths raw
                    location = location.encode("latin-1").decode("utf-8")
                except (UnicodeEncodeError, UnicodeDecodeError):
                    pass
                url = urljoin(url, location)
                continue
            if status != 200:
                raise FetchError(f"http_{status}", url)
            robots = {t.strip().lower() for t in headers.get("x-robots-tag", "").replace(",", " ").split()}
            if self.honour_robots_header and robots & ROBOTS_DENY:
                raise FetchError("x_robots_tag_denied", ",".join(sorted(robots & ROBOTS_DENY)))
            return Fetched(url, status, headers.get("content-type", ""), data, hop, headers)
        raise FetchError("too_many_redirects", f"> {self.max_redirects}")

    def _get(self, url: str) -> tuple[int, dict, bytes]:
        host, port, path, host_header, scheme = request_target(url)
        ip = resolve(host, port, self.allow_private, self.allowed_networks)
        with self.limiter(host):
            conn = (_PinnedHTTPSConnection(host, ip, port, self.timeout, self._ssl)
                    if scheme == "https" else _PinnedHTTPConnection(host, ip, port, self.timeout))
            expired = threading.Event()
            opened: list = []  # the socket, kept here: http.client drops conn.sock once a response will close

            def abort() -> None:  # the whole request's deadline: unblock whatever read is waiting
                expired.set()
                for sock in opened or [conn.sock]:
                    if sock is not None:
                        try:
                            sock.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass

            watchdog = threading.Timer(self.deadline, abort)
            watchdog.daemon = True
            watchdog.start()
            try:
                conn.request("GET", path, headers={"User-Agent": self.user_agent, "Accept": "image/*,*/*;q=0.5",
                                                   "Host": host_header})
                opened.append(conn.sock)
                resp = conn.getresponse()
                headers = {k.lower(): v for k, v in resp.getheaders()}
                if resp.status != 200:
                    return resp.status, headers, b""
                declared = headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise FetchError("too_large", f"Content-Length {declared} > {self.max_bytes}")
                chunks, size = [], 0
                while True:
                    chunk = resp.read(65536)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchError("too_large", f"> {self.max_bytes} bytes")
                    chunks.append(chunk)
                if expired.is_set():  # the watchdog's shutdown ends a read early: that is no success
                    raise FetchError("deadline_exceeded", f"> {self.deadline} s for {url[:200]}")
                return resp.status, headers, b"".join(chunks)
            except FetchError:
                raise
            except (socket.timeout, TimeoutError):
                raise FetchError("timeout", url) from None
            except (ConnectionError, OSError, http.client.HTTPException, ValueError, UnicodeError) as e:
                if expired.is_set():
                    raise FetchError("deadline_exceeded", f"> {self.deadline} s for {url[:200]}") from None
                raise FetchError("connection_error", f"{type(e).__name__}: {str(e)[:200]}") from None
            finally:
                watchdog.cancel()
                conn.close()
