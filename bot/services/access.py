"""Who may touch what: the one place that decides whether a person may act on a piece of state.

A modified client can send any callback data on any message, so a button proves nothing about who
may press it. Every callback passes `Access.callback` before any handler sees it:

- private buttons (onboarding, settings, restart, forget, check-ins, the log ...) act on the
  presser's own chat: only in a private chat, only by its owner, and only while the bot still
  knows them (after /forget, nothing is stored again until they send /start);
- a group check-in (`gci:`) is open to the group's members, in the group or in private;
- cue topics change nothing and are open to everyone.

Admin-level group state (the course, the summary) is for the chat's admins, asked from Telegram
and cached for a minute (`is_admin`). Membership is asked the same way (`is_member`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum

from sqlalchemy import exists, or_, select
from telegram import Bot, ChatMember, Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.callback_data import GroupCheckinPress, prefix_of
from bot.clock import Clock
from bot.content.models import Texts
from bot.delivery.groups import ADMIN_CACHE, GroupDelivery
from bot.storage import groups
from bot.storage.db import Database
from bot.storage.models import LogEntry, PendingLog, Preference, ScheduledMessage, Subscriber

log = logging.getLogger(__name__)

MEMBER_STATUSES = (ChatMember.OWNER, ChatMember.ADMINISTRATOR, ChatMember.MEMBER)


class Audience(StrEnum):
    """Who a kind of button is for."""

    OWNER = "owner"  # the person in their own private chat, known to the bot
    MEMBERS = "members"  # the members of the group the button belongs to
    ANYONE = "anyone"  # changes nothing: safe for everyone


# Every kind of button the bot registers, by prefix. A kind missing here is refused (a test checks
# that every registered prefix has a rule).
CALLBACK_RULES: dict[str, Audience] = {
    "onb": Audience.OWNER,
    "set": Audience.OWNER,
    "units": Audience.OWNER,
    "weekly": Audience.OWNER,
    "restart": Audience.OWNER,
    "forget": Audience.OWNER,
    "ci": Audience.OWNER,
    "fx": Audience.OWNER,
    "hold": Audience.OWNER,
    "felt": Audience.OWNER,
    "lg": Audience.OWNER,
    "pl": Audience.OWNER,
    "rest": Audience.OWNER,
    "gci": Audience.MEMBERS,
    "cue": Audience.ANYONE,
    "lang": Audience.ANYONE,  # a language for the presser's own private chat: the handler checks it is one
    "start": Audience.ANYONE,  # the same, for someone not known yet (their first /start asked)
}


class Refusal(StrEnum):
    """Why a press was refused; each names the text (content/texts.yaml) the presser sees."""

    EXPIRED = "button_expired"
    PRIVATE_ONLY = "access_private_only"
    NOT_YOURS = "checkin_not_yours"
    START_AGAIN = "access_start_again"
    NOT_MEMBER = "access_members_only"


class Access:
    def __init__(self, *, db: Database, clock: Clock, groups: GroupDelivery) -> None:
        self._db = db
        self._clock = clock
        self._groups = groups
        self._members: dict[tuple[int, int], datetime] = {}  # a cache of confirmed memberships

    async def callback(self, update: Update, bot: Bot) -> Refusal | None:
        """Why this press may not go on, or None when it may."""
        query, chat, user = update.callback_query, update.effective_chat, update.effective_user
        audience = CALLBACK_RULES.get(prefix_of(query.data))
        if audience is None or chat is None or user is None:
            return Refusal.EXPIRED
        if audience is Audience.ANYONE:
            return None
        private = chat.type == ChatType.PRIVATE
        if private and chat.id != user.id:
            return Refusal.NOT_YOURS
        if audience is Audience.OWNER:
            if not private:
                return Refusal.PRIVATE_ONLY
            return None if await self.knows(chat.id) else Refusal.START_AGAIN
        button = GroupCheckinPress.unpack(query.data)
        group_id = None if button is None else chat.id if not private else await self._chat_of(button.enrollment)
        if group_id is None:
            return Refusal.EXPIRED
        return None if await self.is_member(bot, group_id, user.id) else Refusal.NOT_MEMBER

    async def knows(self, chat_id: int) -> bool:
        """Whether anything is stored about this private chat (the course, settings, or a log,
        a waiting line or a rest timer, which work without /start): false for someone never seen
        and for someone who asked to be forgotten, until they send /start (or log a set) again."""
        async with self._db.session() as session:
            return bool(
                await session.scalar(
                    select(
                        or_(
                            exists().where(Subscriber.chat_id == chat_id),
                            exists().where(Preference.chat_id == chat_id),
                            exists().where(LogEntry.chat_id == chat_id),
                            exists().where(PendingLog.user_id == chat_id),
                            exists().where(ScheduledMessage.chat_id == chat_id),
                        )
                    )
                )
            )

    async def is_admin(self, update: Update, bot: Bot) -> bool:
        """Telegram's own list of admins decides. A channel post is written by the channel's admins, and
        a message sent as the group itself comes from an anonymous admin."""
        chat, message, user = update.effective_chat, update.effective_message, update.effective_user
        if chat.type == ChatType.CHANNEL:
            return True
        if message is not None and message.sender_chat is not None and message.sender_chat.id == chat.id:
            return True
        return user is not None and await self.is_admin_of(bot, chat.id, user.id)

    async def is_admin_of(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        """Whether this person administers that chat; False when Telegram cannot say."""
        try:
            return user_id in await self._groups.admins(bot, chat_id)
        except TelegramError as exc:
            log.info("chat %s: admins unknown (%s)", chat_id, exc)
            return False

    async def is_member(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        """Whether this person is in that group now (left, kicked or unknown: no). A confirmed
        membership is remembered for a minute, so a busy check-in asks Telegram once per person."""
        now = self._clock.now()
        seen = self._members.get((chat_id, user_id))
        if seen is not None and now - seen < ADMIN_CACHE:
            return True
        try:
            member = await bot.get_chat_member(chat_id, user_id)
        except TelegramError as exc:
            log.info("chat %s: membership of a user unknown (%s)", chat_id, exc)
            return False
        present = member.status in MEMBER_STATUSES or (
            member.status == ChatMember.RESTRICTED and bool(getattr(member, "is_member", False))
        )
        if present:
            self._members = {key: at for key, at in self._members.items() if now - at < ADMIN_CACHE}
            self._members[(chat_id, user_id)] = now
        return present

    async def _chat_of(self, enrollment_id: int) -> int | None:
        """The group a run of the course belongs to (None for a private run or none at all)."""
        async with self._db.session() as session:
            row = await groups.run_chat(session=session, enrollment_id=enrollment_id)
        return None if row is None or row.kind == ChatType.PRIVATE else row.chat_id


def refusal_text(texts: Texts, refusal: Refusal) -> str:
    """The sentence a refused presser sees."""
    return getattr(texts, refusal.value)
