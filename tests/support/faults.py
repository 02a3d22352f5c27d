"""A fault-injecting HTTP proxy on 127.0.0.1 in front of the moto server.

boto3 is pointed at the proxy (AWS_ENDPOINT_URL or the Airflow connection's endpoint_url) exactly
as it would be at moto; the proxy forwards each request and, where a rule says so, answers in
AWS's own words instead: S3's 503 SlowDown, the JSON services' ThrottlingException, the query
services' Throttling, a 500 InternalError, a connection closed with no answer, a slow answer. It
can also vanish: stop listening and cut every open connection, as an endpoint that goes away
mid-harvest does. Nothing in boto3 or moto is patched; the faults cross a real socket.

It can also answer for S3 itself where moto cannot keep up: ``TinyObjects`` lists millions of
small objects under one prefix of a real (moto) bucket, page by page as S3 does, without holding
them anywhere.

Rules pick requests by a predicate and fire on every n-th matching request (``every``), so a retry
of the same call is not failed again at once, or on all of them (``every=1``); ``limit`` caps
how many times a rule fires. ``stats`` counts what was forwarded and what was injected, so a test
can prove its faults really happened.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

THROTTLE, ERROR, DROP, SLOW = "throttle", "error", "drop", "slow"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def protocol(self) -> str:
        """How the service speaks: 'json' (Glue, DynamoDB), 'query' (STS, IAM, RDS, Redshift) or 'rest' (S3)."""
        if "x-amz-target" in self.headers:
            return "json"
        if self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded") \
                and b"Action=" in self.body:
            return "query"
        return "rest"

    @property
    def operation(self) -> str:
        """The AWS operation as far as the request tells it (for the stats and for rules)."""
        if self.protocol == "json":
            return self.headers["x-amz-target"].rsplit(".", 1)[-1]
        if self.protocol == "query":
            match = re.search(rb"Action=([A-Za-z]+)", self.body)
            return match.group(1).decode() if match else "?"
        return f"s3 {self.method} /{self.bucket}" if self.bucket else f"s3 {self.method} /"

    @property
    def bucket(self) -> str | None:
        """The bucket of a path-style S3 request (how boto3 addresses an endpoint on an IP)."""
        if self.protocol != "rest":
            return None
        first = urlsplit(self.path).path.lstrip("/").split("/", 1)[0]
        return first or None


@dataclass
class Rule:
    """Inject ``kind`` into every ``every``-th request that ``match`` selects (at most ``limit`` times)."""

    kind: str
    match: Callable[[Request], bool] = lambda request: True
    every: int = 1
    limit: int | None = None
    delay: float = 0.0  # seconds, for SLOW
    seen: int = 0
    fired: int = 0

    def fires(self, request: Request) -> bool:
        if not self.match(request) or (self.limit is not None and self.fired >= self.limit):
            return False
        self.seen += 1
        if self.seen % self.every:
            return False
        self.fired += 1
        return True


# What AWS answers, per kind of fault and kind of API: (HTTP status, error code, message)
ANSWERS = {
    THROTTLE: {"rest": (503, "SlowDown", "Please reduce your request rate."),
               "json": (400, "ThrottlingException", "Rate exceeded"),
               "query": (400, "Throttling", "Rate exceeded")},
    ERROR: {"rest": (500, "InternalError", "We encountered an internal error. Please try again."),
            "json": (500, "InternalServerError", "We encountered an internal error."),
            "query": (500, "InternalFailure", "We encountered an internal error.")},
}


def aws_error(kind: str, request: Request) -> tuple[int, dict[str, str], bytes]:
    """AWS's answer for a fault of ``kind`` in the request's protocol, as botocore parses it."""
    status, code, message = ANSWERS[kind][request.protocol]
    if request.protocol == "json":
        return status, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}, \
            json.dumps({"__type": code, "message": message}).encode()
    if request.protocol == "query":
        return status, {"Content-Type": "text/xml"}, (
            f"<ErrorResponse><Error><Type>{'Sender' if status < 500 else 'Receiver'}</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>").encode()
    return status, {"Content-Type": "application/xml"}, (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
        f"<RequestId>fault-proxy</RequestId></Error>").encode()


@dataclass
class FaultProxy:
    """The proxy: ``url`` for boto3, ``rules`` to change at any time, ``vanish()`` to go away."""

    upstream: str
    rules: list[Rule] = field(default_factory=list)
    answerers: list[Any] = field(default_factory=list)  # objects with answers(request) and answer(request)
    vanish_after: int | None = None  # forwarded requests, then the endpoint disappears
    stats: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self._sockets: set[socket.socket] = set()
        self._vanished = threading.Event()
        upstream = urlsplit(self.upstream)
        self._upstream = (upstream.hostname, upstream.port)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as boto3's connection pool expects

            def setup(self) -> None:
                super().setup()
                with proxy._lock:
                    proxy._sockets.add(self.connection)

            def finish(self) -> None:
                with proxy._lock:
                    proxy._sockets.discard(self.connection)
                super().finish()

            def _any(self) -> None:
                proxy._handle(self)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = _any  # noqa: N815 - http.server's names

            def log_message(self, *args) -> None:  # quiet: the stats say what happened
                pass

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    # ------------------------------------------------------------------ control

    def add(self, *rules: Rule) -> FaultProxy:
        with self._lock:
            self.rules.extend(rules)
        return self

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def injected(self, kind: str) -> int:
        return self.stats[f"injected {kind}"]

    def protocols(self, kind: str) -> set[str]:
        """The kinds of AWS API (rest, json, query) a fault of ``kind`` reached."""
        return {p for p in ("rest", "json", "query") if self.stats[f"injected {kind} via {p}"]}

    @property
    def forwarded(self) -> int:
        return self.stats["forwarded"]

    def vanish(self) -> None:
        """Stop listening and cut every open connection: new requests are refused, old ones dropped."""
        if self._vanished.is_set():
            return
        self._vanished.set()
        threading.Thread(target=self._server.shutdown, daemon=True).start()
        self._server.socket.close()
        with self._lock:
            for sock in list(self._sockets):
                _cut(sock)

    def close(self) -> None:
        self.vanish()
        self._thread.join(timeout=10)
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ serving

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        if self._vanished.is_set():
            _cut(handler.connection)
            handler.close_connection = True
            return
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        request = Request(handler.command, handler.path, {k.lower(): v for k, v in handler.headers.items()}, body)
        with self._lock:
            fault = next((rule for rule in self.rules if rule.fires(request)), None)
            if fault:
                self.stats[f"injected {fault.kind}"] += 1
                self.stats[f"injected {fault.kind} via {request.protocol}"] += 1
                self.stats[f"injected {fault.kind}: {request.operation}"] += 1
        if fault and fault.kind == DROP:
            _cut(handler.connection)
            handler.close_connection = True
            return
        if fault and fault.kind == SLOW:
            time.sleep(fault.delay)
        answerer = next((a for a in self.answerers if a.answers(request)), None)
        if fault and fault.kind in (THROTTLE, ERROR):
            status, headers, payload = aws_error(fault.kind, request)
        elif answerer:
            status, headers, payload = answerer.answer(request)
            with self._lock:
                self.stats["answered"] += 1
        else:
            try:
                status, headers, payload = self._forward(request)
            except OSError:
                _cut(handler.connection)
                handler.close_connection = True
                return
            with self._lock:
                self.stats["forwarded"] += 1
                vanish = self.vanish_after is not None and self.stats["forwarded"] >= self.vanish_after
            if vanish:
                self.vanish()
                return
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if request.method != "HEAD":
            handler.wfile.write(payload)

    def _forward(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        conn = getattr(self._local, "conn", None)
        for attempt in (1, 2):  # a pooled connection moto closed is opened again once
            if conn is None:
                conn = self._local.conn = http.client.HTTPConnection(*self._upstream, timeout=60)
            try:
                headers = {k: v for k, v in request.headers.items() if k not in HOP_BY_HOP}
                conn.request(request.method, request.path, body=request.body or None, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                kept = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP | {"content-length"}}
                return response.status, kept, payload
            except (http.client.HTTPException, OSError):
                conn.close()
                conn = self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A connection the proxy cut (or the client dropped) is expected here, not a failure."""


def _cut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


@dataclass
class TinyObjects:
    """``count`` objects of ``size`` bytes under ``prefix`` in ``bucket``, as S3 would list and serve them.

    ListObjectsV2 of the bucket is answered here, 1,000 keys a page (or max-keys), in key order,
    with continuation tokens; GetObject and HeadObject of its keys return a small CSV. Everything
    else about the bucket (tags, versioning, lifecycle...) is the real bucket's, in moto.
    """

    bucket: str
    prefix: str
    count: int
    size: int = 24
    listed_pages: int = 0
    body = b"case_id,status\n1,open\n"

    def key(self, i: int) -> str:
        return f"{self.prefix}part-{i:08d}.csv"

    def answers(self, request: Request) -> bool:
        return request.bucket == self.bucket and request.method in ("GET", "HEAD") and (
            "list-type=2" in request.path or urlsplit(request.path).path.startswith(f"/{self.bucket}/"))

    def answer(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        url = urlsplit(request.path)
        if url.path.rstrip("/") == f"/{self.bucket}":
            return self._page(parse_qs(url.query))
        body = self.body.ljust(self.size, b"\n")[: self.size]
        headers = {"Content-Type": "text/csv", "ETag": '"tiny"', "Last-Modified": "Wed, 01 May 2024 00:00:00 GMT",
                   "Accept-Ranges": "bytes"}
        ranged = re.match(r"bytes=(\d+)-(\d*)", request.headers.get("range", ""))
        if ranged:
            start, end = int(ranged.group(1)), min(int(ranged.group(2) or len(body) - 1), len(body) - 1)
            headers["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
            return 206, headers, body[start:end + 1]
        return 200, headers, body

    def _page(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        self.listed_pages += 1
        page_size = min(int(query.get("max-keys", ["1000"])[0]), 1000)
        start = int(query.get("continuation-token", ["0"])[0])
        after = query.get("start-after", [""])[0]
        if after.startswith(self.prefix):
            start = max(start, int(after.removeprefix(self.prefix + "part-").removesuffix(".csv")) + 1)
        if not self.prefix.startswith(query.get("prefix", [""])[0]):
            start = self.count  # a prefix that holds none of them
        end = min(start + page_size, self.count)
        encode = query.get("encoding-type") == ["url"]
        contents = "".join(
            f"<Contents><Key>{quote(self.key(i)) if encode else self.key(i)}</Key>"
            f"<LastModified>2024-05-01T00:00:00.000Z</LastModified><ETag>&quot;tiny&quot;</ETag>"
            f"<Size>{self.size}</Size><StorageClass>STANDARD</StorageClass></Contents>" for i in range(start, end))
        more = end < self.count
        xml = (f'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
               f"<Name>{self.bucket}</Name><Prefix>{query.get('prefix', [''])[0]}</Prefix>"
               f"<KeyCount>{end - start}</KeyCount>"
               f"<MaxKeys>{page_size}</MaxKeys>{'<EncodingType>url</EncodingType>' if encode else ''}"
               f"<IsTruncated>{'true' if more else 'false'}</IsTruncated>{contents}"
               f"{f'<NextContinuationToken>{end}</NextContinuationToken>' if more else ''}</ListBucketResult>")
        return 200, {"Content-Type": "application/xml"}, xml.encode()
