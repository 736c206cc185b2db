"""A person's data: every row stored about them (/export) and all of it deleted (/forget)."""

from __future__ import annotations

import json
from datetime import date, datetime

from bot.clock import Clock
from bot.storage import operations
from bot.storage.db import Database


class Privacy:
    def __init__(self, *, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def export(self, chat_id: int, user_id: int) -> bytes:
        """Every row stored about the person, table by table, as a JSON document."""
        async with self._db.session() as session:
            tables = await operations.export_person(session=session, chat_id=chat_id, user_id=user_id)
        document = {"exported_at": self._clock.now().isoformat(), "chat_id": chat_id, "user_id": user_id, **tables}
        return json.dumps(document, indent=2, default=_json_value, ensure_ascii=False).encode()

    async def forget(self, chat_id: int, user_id: int) -> int:
        """Delete every row stored about the person; returns how many went. Deleting twice deletes
        nothing more: idempotent."""
        async with self._db.session() as session:
            return await operations.forget_person(session=session, chat_id=chat_id, user_id=user_id)


def _json_value(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
