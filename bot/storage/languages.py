"""Who is spoken to in which language: one row per chat (a person's private chat id is their user id)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.db import dialect_insert
from bot.storage.models import ChatLanguage


async def language_of(*, session: AsyncSession, chat_id: int) -> ChatLanguage | None:
    return await session.get(ChatLanguage, chat_id)


async def languages_of(*, session: AsyncSession, chat_ids: Iterable[int]) -> dict[int, str]:
    """The stored language of each chat that has one: one read for a whole batch of lessons."""
    wanted = list(set(chat_ids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(ChatLanguage.chat_id, ChatLanguage.language).where(ChatLanguage.chat_id.in_(wanted))
    )
    return {chat_id: language for chat_id, language in rows.all()}


async def set_language(*, session: AsyncSession, chat_id: int, language: str, chosen: bool) -> bool:
    """Store the chat's language; False when a guess from Telegram met a language already stored
    (a guess never replaces one, chosen or guessed)."""
    insert = dialect_insert(session, ChatLanguage)
    statement = insert.values(chat_id=chat_id, language=language, chosen=chosen)
    if chosen:
        statement = statement.on_conflict_do_update(
            index_elements=["chat_id"], set_={"language": language, "chosen": True}
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=["chat_id"])
    return (await session.execute(statement)).rowcount > 0
