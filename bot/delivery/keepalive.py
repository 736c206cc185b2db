"""A small HTTP/1.1 client for the lean fan-out: prepared JSON bodies posted to one origin over
keep-alive connections, each answer's status and body read back, nothing else.

aiohttp cost the fan-out 120 µs of CPU a send, warm, and more from idle at 30/s: a session,
request and response objects, tracing hooks, header and cookie handling, timers, per post. A lesson
post needs none of it: one origin, a body built once, a status and a few hundred bytes back. Here a
request is one `write` of a head made once per URL and the body, and the answer is parsed where it
arrives (`asyncio.Protocol`): 37 µs (benchmarks/transport.py).

What an HTTP/1.1 client must handle, it does: TLS (certifi's trust store, as httpx under
python-telegram-bot), answers sized by Content-Length, chunked or ended by the connection,
`Connection: close`, interim 1xx answers, connections the server closed while idle (never used
again), an idle limit of our own, a connect and a read timeout, a bound on connections. It follows
no redirects, decompresses nothing (it asks for nothing compressed) and knows no proxies: the Bot
API's sendMessage needs none of them.

A fault says whether the request could have reached the server: `ConnectError` (no connection: it
never left this machine, so it is safe to send again) or `AnswerLost` (it was written and the answer
did not come whole: Telegram may have carried it out). A read timeout is `TimeoutError`.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import certifi

MAX_HEAD_BYTES = 64 * 1024  # an answer's status line and headers
MAX_BODY_BYTES = 4 * 1024 * 1024  # a sendMessage answer is a few kB


class ConnectError(Exception):
    """No connection to the server (refused, unresolvable, TLS failed, none free in time): the
    request never left this machine."""


class AnswerLost(Exception):
    """The request was written, and the connection closed or the answer broke before it came whole:
    the server may have carried the request out."""


ProtocolFactory = Callable[[], asyncio.Protocol]
# How a connection is opened: `loop.create_connection`'s signature (a test's faults stand in for it).
Connect = Callable[..., Awaitable[tuple[asyncio.BaseTransport, asyncio.Protocol]]]


class _Phase(enum.Enum):
    """What the connection reads next."""

    HEAD = enum.auto()
    SIZED = enum.auto()  # a body of Content-Length bytes
    CHUNK_SIZE = enum.auto()
    CHUNK_DATA = enum.auto()
    TRAILER = enum.auto()  # the lines after the last chunk, to an empty one
    UNTIL_CLOSE = enum.auto()  # neither length nor chunks: the body ends with the connection


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its answer parsed as it arrives."""

    def __init__(self, pool: KeepAlivePool) -> None:
        self._pool = pool
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._answer: asyncio.Future[tuple[int, bytes]] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._phase = _Phase.HEAD
        self._status = 0
        self._size = 0  # the body's or the current chunk's bytes still to come
        self._body = bytearray()
        self._keep_alive = True
        self.open = False
        self.idle_since = 0.0

    # --------------------------------------------------------------- asyncio's calls

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self.open = True

    def data_received(self, data: bytes) -> None:
        if self._answer is None:  # nothing was asked: a server out of step, not to be trusted again
            self.close()
            return
        self._buffer += data
        try:
            self._read()
        except AnswerLost as exc:
            self._fail(exc)
            self.close()

    def eof_received(self) -> bool:
        return False  # the transport closes itself; connection_lost settles what was read

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self._pool.forget(self)
        if self._answer is None:
            return
        if exc is None and self._phase is _Phase.UNTIL_CLOSE:
            self._finish(bytes(self._body))
            return
        lost = AnswerLost("the connection closed before the whole answer came")
        lost.__cause__ = exc
        self._fail(lost)

    # --------------------------------------------------------------- the request

    def request(self, message: bytes, read_timeout: float | None) -> asyncio.Future[tuple[int, bytes]]:
        """Write one request; its answer (status, body) is the future's result."""
        loop = self._pool.loop
        self._answer = answer = loop.create_future()
        self._phase, self._body, self._keep_alive = _Phase.HEAD, bytearray(), True
        if read_timeout is not None:
            self._timer = loop.call_later(read_timeout, self._timed_out)
        self._transport.write(message)
        return answer

    @property
    def reusable(self) -> bool:
        """Open, kept alive, between answers with nothing unasked for read, and not closing (the
        server's end of file closes the transport a moment before `connection_lost`)."""
        return (
            self.open
            and self._keep_alive
            and self._answer is None
            and not self._buffer
            and not self._transport.is_closing()
        )

    def close(self, *, abort: bool = False) -> None:
        """Closed by us: out of the pool at once (connection_lost follows); `abort` drops what is
        left to write and read."""
        self.open = False
        self._pool.forget(self)
        if self._transport is not None:
            self._transport.abort() if abort else self._transport.close()

    def _timed_out(self) -> None:
        self._timer = None
        self._fail(TimeoutError("no answer within the read timeout"))
        self.close(abort=True)  # a late answer would belong to no request

    def _fail(self, exc: BaseException) -> None:
        answer, self._answer = self._answer, None
        self._cancel_timer()
        if answer is not None and not answer.done():
            answer.set_exception(exc)

    def _finish(self, body: bytes) -> None:
        answer, self._answer = self._answer, None
        self._cancel_timer()
        if answer is not None and not answer.done():
            answer.set_result((self._status, body))

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # --------------------------------------------------------------- the answer

    def _read(self) -> None:
        """Parse what the buffer holds, as far as it goes."""
        buffer = self._buffer
        while self._answer is not None:
            phase = self._phase
            if phase is _Phase.HEAD:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(buffer) > MAX_HEAD_BYTES:
                        raise AnswerLost("the answer's head is too long")
                    return
                head = bytes(buffer[:end])
                del buffer[: end + 4]
                self._read_head(head)
            elif phase is _Phase.SIZED:
                if len(buffer) < self._size:
                    return
                body = bytes(buffer[: self._size])
                del buffer[: self._size]
                self._finish(body)
            elif phase is _Phase.CHUNK_SIZE:
                end = buffer.find(b"\r\n")
                if end < 0:
                    return
                try:
                    self._size = int(bytes(buffer[:end]).split(b";", 1)[0], 16)
                except ValueError:
                    raise AnswerLost("a chunk's size is not a number") from None
                del buffer[: end + 2]
                if self._size < 0 or len(self._body) + self._size > MAX_BODY_BYTES:
                    raise AnswerLost("the answer is too large")
                self._phase = _Phase.CHUNK_DATA if self._size else _Phase.TRAILER
            elif phase is _Phase.CHUNK_DATA:
                if len(buffer) < self._size + 2:
                    return
                if buffer[self._size : self._size + 2] != b"\r\n":
                    raise AnswerLost("a chunk does not end where its size says")
                self._body += buffer[: self._size]
                del buffer[: self._size + 2]
                self._phase = _Phase.CHUNK_SIZE
            elif phase is _Phase.TRAILER:
                end = buffer.find(b"\r\n")
                if end < 0:
                    return
                del buffer[: end + 2]
                if end == 0:
                    self._finish(bytes(self._body))
            else:  # UNTIL_CLOSE
                self._body += buffer
                buffer.clear()
                if len(self._body) > MAX_BODY_BYTES:
                    raise AnswerLost("the answer is too large")
                return

    def _read_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        version, _, rest = lines[0].partition(b" ")
        if version not in (b"HTTP/1.1", b"HTTP/1.0"):
            raise AnswerLost("the answer is not HTTP/1.x")
        try:
            status = int(rest[:3])
        except ValueError:
            raise AnswerLost("the answer has no status") from None
        if 100 <= status < 200:  # an interim answer (100 Continue, 103 Early Hints): the real one follows
            return
        keep_alive = version == b"HTTP/1.1"
        length: int | None = None
        chunked = False
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon:
                raise AnswerLost("a header line has no colon")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                if not value.isdigit() or (length is not None and int(value) != length):
                    raise AnswerLost("the answer's Content-Length is not one number")
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = value.rsplit(b",", 1)[-1].strip() == b"chunked"
                if not chunked:  # encoded some other way: read to the end, and keep no connection
                    keep_alive = False
            elif name == b"connection":
                tokens = {token.strip() for token in value.split(b",")}
                if b"close" in tokens:
                    keep_alive = False
                elif b"keep-alive" in tokens:
                    keep_alive = True
        self._status, self._keep_alive = status, keep_alive
        if status in (204, 304):
            self._size, self._phase = 0, _Phase.SIZED
        elif chunked:
            self._phase = _Phase.CHUNK_SIZE
        elif length is not None:
            if length > MAX_BODY_BYTES:
                raise AnswerLost("the answer is too large")
            self._size, self._phase = length, _Phase.SIZED
        else:
            self._phase, self._keep_alive = _Phase.UNTIL_CLOSE, False


class KeepAlivePool:
    """Connections to the origin of `url` (`scheme://host[:port]`), at most `connections` open, each reused
    while the server keeps it and for `idle_seconds` of rest at most (closed by us before a server
    closes it under a request)."""

    def __init__(
        self,
        url: str,
        *,
        connections: int,
        connect_timeout: float,
        read_timeout: float | None,
        idle_seconds: float,
        connect: Connect | None = None,
        tls: ssl.SSLContext | None = None,  # for https: certifi's roots unless given
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) address: {url!r}")
        self.loop = asyncio.get_running_loop()
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._host_header = parts.netloc.rpartition("@")[2]
        self._https = parts.scheme == "https"
        self._address = (parts.hostname, parts.port or (443 if self._https else 80))
        self._tls = tls  # None: certifi's roots (`default_tls`)
        self._limit = connections
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._idle_seconds = idle_seconds
        self._connect = connect or self.loop.create_connection
        self._open: set[_Connection] = set()  # with those being opened (`_opening`), what the limit counts
        self._opening = 0
        self._idle: list[_Connection] = []  # the most recently used last
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._heads: dict[str, bytes] = {}
        self._closed = False

    async def post(self, url: str, body: bytes) -> tuple[int, bytes]:
        """POST a JSON body to `url` (of this origin); the answer's status and body."""
        head = self._heads.get(url) or self._head_for(url)
        connection = self._idle_connection() or await self._connection()
        try:
            return await connection.request(b"%s%d\r\n\r\n%s" % (head, len(body), body), self._read_timeout)
        finally:
            self._release(connection)

    async def close(self) -> None:
        """Close every connection; a request still waiting gets `AnswerLost`."""
        self._closed = True
        for connection in list(self._open):
            connection.close()
        self._idle.clear()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    def forget(self, connection: _Connection) -> None:
        """A connection closed: its place is free for another."""
        if connection in self._open:
            self._open.discard(connection)
            if connection in self._idle:
                self._idle.remove(connection)
            self._wake_one()

    # --------------------------------------------------------------- inside

    def _head_for(self, url: str) -> bytes:
        if not url.startswith(self._origin + "/"):  # (the URL holds the bot's token: not in the message)
            raise ValueError(f"a URL that is not on {self._origin}")
        target = url[len(self._origin) :]
        head = (
            f"POST {target} HTTP/1.1\r\nHost: {self._host_header}\r\nContent-Type: application/json\r\nContent-Length: "
        ).encode("ascii")
        self._heads[url] = head
        return head

    def _idle_connection(self) -> _Connection | None:
        """The most recently used idle connection still worth using (the others are closed)."""
        idle, now = self._idle, time.monotonic()
        while idle:
            connection = idle.pop()
            if connection.reusable and now - connection.idle_since < self._idle_seconds:
                return connection
            connection.close()
        return None

    async def _connection(self) -> _Connection:
        """A new connection while under the limit, else the next one freed (or a place to open
        one), within the connect timeout."""
        try:
            async with asyncio.timeout(self._connect_timeout):
                while True:
                    if self._closed:
                        raise ConnectError("the pool is closed")
                    connection = self._idle_connection()
                    if connection is not None:
                        return connection
                    if len(self._open) + self._opening < self._limit:
                        return await self._new_connection()
                    waiter = self.loop.create_future()
                    self._waiters.append(waiter)
                    try:
                        await waiter
                    finally:
                        if waiter in self._waiters:
                            self._waiters.remove(waiter)
        except TimeoutError as exc:
            raise ConnectError(f"no connection to {self._origin} within {self._connect_timeout:g} s") from exc

    async def _new_connection(self) -> _Connection:
        host, port = self._address
        tls = {"ssl": self._tls or default_tls(), "server_hostname": host} if self._https else {}
        self._opening += 1
        try:
            _, connection = await self._connect(lambda: _Connection(self), host, port, **tls)
        except OSError as exc:  # refused, unreachable, unresolvable, a failed TLS handshake
            self._wake_one()  # the place it would have taken is free for a request waiting
            raise ConnectError(f"could not connect to {self._origin}: {exc}") from exc
        finally:
            self._opening -= 1
        if not connection.open:  # closed as it opened
            raise ConnectError(f"{self._origin} closed the connection as it opened")
        self._open.add(connection)
        return connection

    def _release(self, connection: _Connection) -> None:
        if connection.reusable and not self._closed:
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
            self._wake_one()
        elif connection.open:
            connection.close()

    def _wake_one(self) -> None:
        """Tell the first request waiting for a connection to look again."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


@functools.cache
def default_tls() -> ssl.SSLContext:
    """The TLS context of every pool, built at the first connection (one costs ~20 ms): certifi's
    roots, as httpx's under python-telegram-bot, and HTTP/1.1 offered."""
    context = ssl.create_default_context(cafile=certifi.where())
    context.set_alpn_protocols(["http/1.1"])
    return context
