"""The lean fan-out's HTTP/1.1 client (bot/delivery/keepalive.py) against a scripted server on
127.0.0.1: each answer's framing, keep-alive and its limits, and which faults say the request may
have arrived (`AnswerLost`) and which say it never left (`ConnectError`)."""

from __future__ import annotations

import asyncio
import inspect
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.delivery.keepalive import AnswerLost, ConnectError, KeepAlivePool

BODY = b'{"chat_id":1,"text":"hinge"}'
OK = b'{"ok":true,"result":{"message_id":7}}'


def sized(body: bytes = OK, *, status: bytes = b"200 OK", headers: bytes = b"") -> bytes:
    return b"HTTP/1.1 %s\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n%s" % (
        status,
        headers,
        len(body),
        body,
    )


class ScriptedServer:
    """Reads whole requests and answers each with the next script entry: bytes to write, or a
    function of the connection's writer (to hang up, or to wait). Keeps what it was asked."""

    def __init__(self, script: list[bytes | Callable[[asyncio.StreamWriter], object]]) -> None:
        self.script = list(script)
        self.requests: list[tuple[bytes, bytes]] = []  # (head, body)
        self.connections = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self, tls: ssl.SSLContext | None = None) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls)
        port = self.server.sockets[0].getsockname()[1]
        return f"{'https' if tls else 'http'}://127.0.0.1:{port}/botTOKEN/sendMessage"

    async def stop(self) -> None:
        for writer in self.writers:
            writer.close()
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while self.script:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                self.requests.append((head, await reader.readexactly(length)))
                step = self.script.pop(0)
                if callable(step):
                    if inspect.isawaitable(waited := step(writer)):
                        await waited
                    if writer.is_closing():
                        return
                else:
                    writer.write(step)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., object]]:
    servers: list[ScriptedServer] = []

    async def start(*script: bytes | Callable, tls: ssl.SSLContext | None = None) -> tuple[ScriptedServer, str]:
        server = ScriptedServer(list(script))
        servers.append(server)
        return server, await server.start(tls)

    yield start
    for server in servers:
        await server.stop()


@pytest.fixture
async def pool_for() -> AsyncIterator[Callable[..., KeepAlivePool]]:
    """Pools for a test, each closed at its end."""
    pools: list[KeepAlivePool] = []

    def open_pool(url: str, **options: object) -> KeepAlivePool:
        settings = {"connections": 4, "connect_timeout": 1.0, "read_timeout": 1.0, "idle_seconds": 30.0}
        pools.append(KeepAlivePool(url, **(settings | options)))
        return pools[-1]

    yield open_pool
    for pool in pools:
        await pool.close()


async def test_answers_come_back_whole_over_one_kept_connection(serve, pool_for):
    chunks = b'5\r\n{"ok"\r\n11;note=x\r\n:true,"result":1}\r\n0\r\nX-After: 1\r\n\r\n'  # sizes in hex
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks
    interim = b"HTTP/1.1 100 Continue\r\n\r\n" + sized()
    server, url = await serve(sized(), chunked, interim, sized(b'{"ok":false}', status=b"403 Forbidden"))
    pool = pool_for(url)
    assert await pool.post(url, BODY) == (200, OK)
    assert await pool.post(url, BODY) == (200, b'{"ok":true,"result":1}')
    assert await pool.post(url, BODY) == (200, OK)
    assert await pool.post(url, BODY) == (403, b'{"ok":false}')
    assert server.connections == 1
    head, body = server.requests[0]
    assert head.startswith(b"POST /botTOKEN/sendMessage HTTP/1.1\r\n") and b"\r\nHost: 127.0.0.1:" in head
    assert b"Content-Type: application/json\r\n" in head and body == BODY


async def test_an_answer_split_across_reads_is_put_together(serve, pool_for):
    async def dribble(writer: asyncio.StreamWriter) -> None:
        for i in range(0, len(answer := sized()), 7):
            writer.write(answer[i : i + 7])
            await writer.drain()
            await asyncio.sleep(0.001)

    _, url = await serve(dribble, sized())
    pool = pool_for(url)
    assert await pool.post(url, BODY) == (200, OK)
    assert await pool.post(url, BODY) == (200, OK)


async def test_a_connection_the_server_ends_is_not_used_again(serve, pool_for):
    def hang_up(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.0 200 OK\r\n\r\n" + OK)  # no length: the body ends with the connection
        writer.close()

    server, url = await serve(sized(headers=b"Connection: close\r\n"), hang_up, sized())
    pool = pool_for(url)
    assert await pool.post(url, BODY) == (200, OK)
    assert await pool.post(url, BODY) == (200, OK)
    assert await pool.post(url, BODY) == (200, OK)
    assert server.connections == 3


async def test_a_connection_closed_while_idle_is_replaced(serve, pool_for):
    server, url = await serve(sized(), sized())
    pool = pool_for(url)
    assert await pool.post(url, BODY) == (200, OK)
    server.writers[0].close()  # the server's keep-alive timeout, between two requests
    await asyncio.sleep(0.05)
    assert await pool.post(url, BODY) == (200, OK)
    assert server.connections == 2


async def test_a_connection_idle_past_our_limit_is_replaced(serve, pool_for):
    server, url = await serve(sized(), sized())
    pool = pool_for(url, idle_seconds=0.05)
    await pool.post(url, BODY)
    await asyncio.sleep(0.1)
    await pool.post(url, BODY)
    assert server.connections == 2


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(lambda writer: writer.close(), id="closed before answering"),
        pytest.param(lambda writer: (writer.write(sized()[:40]), writer.close()), id="closed mid-answer"),
        pytest.param(b"SMTP ready\r\n\r\n", id="not HTTP"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", id="two lengths"),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", id="bad chunk size"),
        pytest.param(b"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", id="bad header"),
    ],
)
async def test_a_broken_answer_may_have_been_carried_out(serve, pool_for, answer):
    server, url = await serve(answer, sized())
    pool = pool_for(url)
    with pytest.raises(AnswerLost):
        await pool.post(url, BODY)
    assert await pool.post(url, BODY) == (200, OK), "the next request takes a fresh connection"
    assert server.connections == 2


async def test_no_answer_in_time_is_a_timeout_and_the_late_answer_is_not_misread(serve, pool_for):
    async def late(writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.3)
        writer.write(sized(b'{"ok":true,"result":{"message_id":1}}'))

    server, url = await serve(late, sized())
    pool = pool_for(url, read_timeout=0.1)
    with pytest.raises(TimeoutError):
        await pool.post(url, BODY)
    assert await pool.post(url, BODY) == (200, OK)
    assert server.connections == 2


async def test_a_refused_connection_never_left(serve, pool_for):
    server, url = await serve()
    await server.stop()
    pool = pool_for(url)
    with pytest.raises(ConnectError) as refused:
        await pool.post(url, BODY)
    assert isinstance(refused.value.__cause__, ConnectionRefusedError)


async def test_requests_beyond_the_limit_wait_for_a_connection_or_time_out(serve, pool_for):
    release = asyncio.Event()

    async def held(writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.write(sized())

    server, url = await serve(held, sized(), sized())
    pool = pool_for(url, connections=1, connect_timeout=0.1)
    first = asyncio.create_task(pool.post(url, BODY))
    await asyncio.sleep(0.02)
    with pytest.raises(ConnectError) as none_free:  # no connection in time: it never left
        await pool.post(url, BODY)
    assert isinstance(none_free.value.__cause__, TimeoutError)
    second = asyncio.create_task(pool.post(url, BODY))
    await asyncio.sleep(0.02)
    release.set()
    assert await first == (200, OK) and await second == (200, OK)
    assert server.connections == 1


async def test_a_request_cancelled_midway_gives_its_connection_up(serve, pool_for):
    async def slow(writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.2)
        writer.write(sized())

    server, url = await serve(slow, sized())
    pool = pool_for(url, connections=1)
    waiting = asyncio.create_task(pool.post(url, BODY))
    await asyncio.sleep(0.02)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await pool.post(url, BODY) == (200, OK)
    assert server.connections == 2


async def test_a_closed_pool_fails_what_is_in_flight(serve, pool_for):
    server, url = await serve(lambda writer: asyncio.sleep(1))
    pool = pool_for(url)
    waiting = asyncio.create_task(pool.post(url, BODY))
    await asyncio.sleep(0.02)
    await pool.close()
    with pytest.raises(AnswerLost):
        await waiting
    with pytest.raises(ConnectError):
        await pool.post(url, BODY)


async def test_only_http_addresses_are_taken(pool_for):
    with pytest.raises(ValueError, match="not an http"):
        pool_for("ftp://example.org/x")


async def test_a_url_of_another_origin_is_refused(serve, pool_for):
    _, url = await serve()
    pool = pool_for(url)
    with pytest.raises(ValueError, match="is not on") as refused:
        await pool.post("http://example.org/botTOKEN/sendMessage", BODY)
    assert "TOKEN" not in str(refused.value), "the bot's token stays out of the error"


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the TLS test makes its certificate with the openssl command, which is missing")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return key, cert


async def test_https_checks_the_server_against_the_trusted_roots(serve, pool_for, certificate):
    key, cert = certificate
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    server, url = await serve(sized(), tls=server_tls)
    trusting = ssl.create_default_context(cafile=str(cert))
    pool = pool_for(url, tls=trusting)
    assert await pool.post(url, BODY) == (200, OK)
    stranger = pool_for(url)  # certifi's roots do not know this certificate: no connection
    with pytest.raises(ConnectError) as untrusted:
        await stranger.post(url, BODY)
    assert isinstance(untrusted.value.__cause__, ssl.SSLCertVerificationError)
