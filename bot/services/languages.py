"""Which language each chat is spoken to in: decided once per update, stored per chat.

A person's language comes from Telegram's `language_code` when we speak it, stored when they send
/start or once the bot keeps anything else about them (a /log, /weekly or a rest timer work without
/start), so what jobs send them with no update to read it from (lessons, weekly check-ins, rest
timers) comes in it too; nothing is stored about someone the bot keeps nothing about, or who asked
to be forgotten. Their own choice (/language, /settings) is never overwritten by a guess.
A group speaks what its admin set (`/groupcourse language es`), English until then, while each
member's private messages use the member's own language.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from telegram import Update
from telegram.constants import ChatType

from bot.language import BASE_LANGUAGE, from_telegram
from bot.storage import languages
from bot.storage.db import Database


@dataclass(frozen=True)
class Heard:
    """The language to answer an update in; `unknown` when the person's own is one we lack and
    nobody chose one yet (so /start asks with buttons)."""

    language: str
    unknown: bool = False
    stored: bool = False  # stored just now (a new person's first /start): their menu button follows it
    kept: bool = False  # stored for this chat, before or just now (else a guess, or English)


class Languages:
    def __init__(self, *, db: Database, available: tuple[str, ...]) -> None:
        self._db = db
        self.available = available

    async def for_update(self, update: Update, *, starting: bool = False) -> Heard:
        """The language of the chat the update came from; `starting` (a private /start) stores a
        person's guessed language."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None:  # inline queries: the language of the person typing
            return await self.of_person(user.id, user.language_code) if user else Heard(BASE_LANGUAGE)
        if chat.type == ChatType.PRIVATE and user is not None and user.id == chat.id:
            return await self.of_person(user.id, user.language_code, store=starting)
        if update.callback_query is not None and user is not None:  # a toast only the presser sees
            async with self._db.session() as session:  # the presser's row and the group's, one read
                found = await languages.languages_of(session=session, chat_ids=[user.id, chat.id])
            if found.get(user.id) in self.available:
                return Heard(found[user.id], kept=True)
            guessed = from_telegram(user.language_code, self.available)
            if guessed is not None:
                return Heard(guessed)
            return Heard(self._spoken(found.get(chat.id)))
        return Heard(await self.of_chat(chat.id))  # what is said in a group is said to all of it

    async def of_person(self, user_id: int, language_code: str | None, *, store: bool = False) -> Heard:
        async with self._db.session() as session:
            stored = await languages.language_of(session=session, chat_id=user_id)
            if stored is not None and stored.language in self.available:
                return Heard(stored.language, kept=True)
            guessed = from_telegram(language_code, self.available)
            if guessed is None:
                return Heard(BASE_LANGUAGE, unknown=True)
            stored = store and await languages.set_language(
                session=session, chat_id=user_id, language=guessed, chosen=False
            )
        return Heard(guessed, stored=stored, kept=stored)

    async def of_chat(self, chat_id: int) -> str:
        """A chat's stored language (a group's, or a person's for their private messages)."""
        async with self._db.session() as session:
            stored = await languages.language_of(session=session, chat_id=chat_id)
        return self._spoken(stored.language if stored is not None else None)

    async def of_chats(self, chat_ids: Iterable[int]) -> dict[int, str]:
        """Each chat's language in one read (English for those without one): a batch of lessons."""
        wanted = list(chat_ids)
        async with self._db.session() as session:
            found = await languages.languages_of(session=session, chat_ids=wanted)
        return {chat_id: self._spoken(found.get(chat_id)) for chat_id in wanted}

    def _spoken(self, language: str | None) -> str:
        return language if language in self.available else BASE_LANGUAGE

    async def remember(self, user_id: int, language: str) -> bool:
        """Store a person's guessed language (never over one stored); True when it was stored now."""
        async with self._db.session() as session:
            return await languages.set_language(session=session, chat_id=user_id, language=language, chosen=False)

    async def choose(self, chat_id: int, language: str) -> bool:
        """Store a chosen language; False when we do not speak it."""
        if language not in self.available:
            return False
        async with self._db.session() as session:
            await languages.set_language(session=session, chat_id=chat_id, language=language, chosen=True)
        return True
