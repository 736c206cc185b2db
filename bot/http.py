"""The HTTP client for Bot API calls: python-telegram-bot's own (HTTPX), over several small pools.

httpcore walks every connection of a pool, and probes each idle one's socket, whenever a request
starts or ends, in a loop that grows with the square of the pool (encode/httpcore#1035, unfixed in
1.0.9). A dozen connections cost nothing; the hundred a paid-broadcast fan-out keeps in flight
made that walk most of the bot's CPU. Each request therefore goes to the least busy of a few pools
of at most POOL_SIZE connections: the same client, errors and timeouts, without the quadratic.
"""

from __future__ import annotations

import math

from telegram.request import BaseRequest, HTTPXRequest, RequestData

POOL_SIZE = 16


class PooledRequest(BaseRequest):
    def __init__(self, connections: int) -> None:
        self._pools = [HTTPXRequest(connection_pool_size=POOL_SIZE) for _ in range(math.ceil(connections / POOL_SIZE))]
        self._busy = [0] * len(self._pools)

    @property
    def read_timeout(self) -> float | None:
        return self._pools[0].read_timeout

    async def initialize(self) -> None:
        for pool in self._pools:
            await pool.initialize()

    async def shutdown(self) -> None:
        for pool in self._pools:
            await pool.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | None = BaseRequest.DEFAULT_NONE,
        write_timeout: float | None = BaseRequest.DEFAULT_NONE,
        connect_timeout: float | None = BaseRequest.DEFAULT_NONE,
        pool_timeout: float | None = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        index = min(range(len(self._pools)), key=self._busy.__getitem__)
        self._busy[index] += 1
        try:
            return await self._pools[index].do_request(
                url,
                method,
                request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        finally:
            self._busy[index] -= 1
