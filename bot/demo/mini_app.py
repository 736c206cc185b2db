"""The Mini App in the demo: a small coached group to look at, and links that open the pages in a
desktop browser, signed with the demo's token as Telegram would sign them (the signed data rides
in the URL's fragment, where Telegram puts it too; a browser never sends the fragment to a server)."""

from __future__ import annotations

import json
import socket
from datetime import datetime, timedelta
from urllib.parse import quote

from bot.domain.chats import ChatKind
from bot.miniapp.init_data import sign
from bot.storage.db import Database
from bot.storage.models import CheckinAnswer, Delivery, Enrollment, GroupMember, SendStatus, Subscriber

# (member, name, what they answered on days 1-3: the path through the check-in, or None for silence)
_CLEAN = (("felt-where", "hams-glutes", "clean", "clean"),)
_BACK = (("felt-where", "lower-back", None, None), ("lower-back-why", "drifted", "weight-drift", "regress"))
_KNEES = (("felt-where", "quads-knees", "squatting", "none"),)
_PAIN = (("felt-where", "pain", "red-flag", "red_flag"),)
MEMBERS = (
    (901, "Ana", (_BACK, _CLEAN, _CLEAN)),
    (902, "Ben", (_KNEES, _KNEES, _CLEAN)),
    (903, "Chen", (_CLEAN, _PAIN, None)),
    (904, "Dara", (_CLEAN, None, None)),
)


def free_port() -> int:
    """A port free on this machine now, for the demo's Mini App server."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def page_link(page_url: str, token: str, person: dict, now: datetime) -> str:
    """`page_url` with initData for `person` in its fragment, valid for a day from `now`."""
    user = json.dumps({key: person[key] for key in ("id", "first_name", "language_code")}, separators=(",", ":"))
    signed = sign({"auth_date": str(int(now.timestamp())), "user": user}, token)
    return f"{page_url}#tgWebAppData={quote(signed, safe='')}&tgWebAppVersion=8.0"


async def seed_group(db: Database, *, group_id: int, title: str, coach_id: int, coach_name: str, now: datetime) -> None:
    """A group three days into the course, with check-ins, a red flag and people who went quiet."""
    start = now - timedelta(days=2, hours=1)
    async with db.session() as session:
        session.add(
            Subscriber(
                chat_id=group_id, kind=ChatKind.SUPERGROUP, name=title, profile="both", lesson_time="07:00",
                timezone="Etc/UTC", onboarded=True, created_at=start,
            )
        )  # fmt: skip
        await session.flush()
        run = Enrollment(chat_id=group_id, current_day=3, started_at=start, last_sent_at=start + timedelta(days=2))
        session.add(run)
        await session.flush()
        for day in (1, 2, 3):
            sent = start + timedelta(days=day - 1)
            session.add(Delivery(enrollment_id=run.id, day=day, due_at=sent, status=SendStatus.SENT, sent_at=sent))
        for user, name in ((coach_id, coach_name), *((user, name) for user, name, _ in MEMBERS)):
            session.add(GroupMember(chat_id=group_id, user_id=user, name=name, first_seen=start, last_seen=now))
        for user, _, days in MEMBERS:
            for day, path in enumerate(days, start=1):
                for step, (node, option, advice, effect) in enumerate(path or ()):
                    at = start + timedelta(days=day - 1, hours=1, minutes=step)
                    session.add(
                        CheckinAnswer(
                            enrollment_id=run.id, chat_id=group_id, user_id=user, day=day, node=node, option=option,
                            advice=advice, effect=effect, answered_at=at,
                        )
                    )  # fmt: skip
