"""Numbers for the people who run the bot: `/stats` and `coach stats` read them here, in one
transaction, and lay them out with bot.stats."""

from __future__ import annotations

from bot.stats import Stats, collect
from bot.storage.db import Database


class Reports:
    def __init__(self, *, db: Database, days: int) -> None:
        self._db = db
        self._days = days  # the course's length: how far people got is counted day by day

    async def stats(self, unmatched: int = 10) -> Stats:
        """The report; `unmatched` is how many of the latest typed answers the bot had to ask about
        are listed."""
        async with self._db.session() as session:
            return await collect(session=session, days=self._days, unmatched=unmatched)
