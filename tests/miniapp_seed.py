"""A database as the Mini App's tests find it: one learner three days into the course with
check-ins and a training log, and one coached group with five members on day 3. The expected
figures of the coach's page are spelled out beside the data that makes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.miniapp.init_data import sign
from bot.storage.db import Database
from bot.storage.models import (
    CheckinAnswer,
    Delivery,
    Enrollment,
    GroupMember,
    LogEntry,
    Preference,
    Subscriber,
    UnreadAnswer,
)

LEARNER = 1001
COACH = 2001
OPERATOR = 4242
GROUP = -100500
MEMBERS = {3001: "Bea", 3002: "Cal", 3003: "Dee", 3004: "Eve"}
START = datetime(2026, 6, 1, 5, 0, tzinfo=UTC)  # 07:00 in Berlin
DAY = timedelta(days=1)

# Group, days 1-3 out (every lesson asks where it was felt). Per member and day:
#   day 1: Bea clean, Cal lower back, Dee clean      day 2: Bea clean, Cal red flag, Dee glutes quiet
#   day 3: Bea lower back                            Eve never answers (silent for 3 lessons)
EXPECTED_FUNNEL = [
    {"day": 1, "sent": 4, "answered": 3, "clean": 2, "lower_back": 1, "other_faults": 0, "red_flags": 0},
    {"day": 2, "sent": 4, "answered": 3, "clean": 1, "lower_back": 0, "other_faults": 1, "red_flags": 1},
    {"day": 3, "sent": 4, "answered": 1, "clean": 0, "lower_back": 1, "other_faults": 0, "red_flags": 0},
]

_LOWER_BACK = [("felt-where", "lower-back", None, None), ("lower-back-why", "rounded", "back-rounding", "regress")]
_CLEAN = [("felt-where", "hams-glutes", "clean", "clean")]
_RED_FLAG = [("felt-where", "pain", "red-flag", "red_flag")]
_QUIET = [("felt-where", "nothing-much", "glutes-quiet", "activate")]


def init_data(user_id: int, name: str, token: str, *, at: datetime, language: str = "en") -> str:
    """initData as Telegram signs it for this person."""
    user = f'{{"id":{user_id},"first_name":"{name}","language_code":"{language}"}}'
    return sign({"auth_date": str(int(at.timestamp())), "query_id": "AAHdF6IQAAAAAN0XohDhrOrc", "user": user}, token)


def _answers(run: int, chat: int, user: int, day: int, path: list, fix_helped: str | None = None) -> list:
    at = START + (day - 1) * DAY + timedelta(hours=2)
    return [
        CheckinAnswer(
            enrollment_id=run,
            chat_id=chat,
            user_id=user,
            day=day,
            node=node,
            option=option,
            advice=advice,
            effect=effect,
            fix_helped=fix_helped if advice else None,
            answered_at=at + timedelta(minutes=i),
        )
        for i, (node, option, advice, effect) in enumerate(path)
    ]


async def seed(db: Database) -> None:
    async with db.session() as session:
        session.add(
            Subscriber(
                chat_id=LEARNER,
                kind="private",
                name="Alex",
                profile="lifter",
                lesson_time="07:00",
                timezone="Europe/Berlin",
                onboarded=True,
                created_at=START,
            )
        )
        session.add(
            Subscriber(
                chat_id=GROUP,
                kind="supergroup",
                name="Tuesday Runners",
                profile="both",
                lesson_time="07:00",
                timezone="Europe/Berlin",
                onboarded=True,
                created_at=START,
            )
        )
        for chat_id, name in ((COACH, "Coach Kim"), (OPERATOR, "Op")):
            session.add(Subscriber(chat_id=chat_id, kind="private", name=name, created_at=START))
        await session.flush()
        mine = Enrollment(
            chat_id=LEARNER, status="active", current_day=3, started_at=START, last_sent_at=START + 2 * DAY
        )
        theirs = Enrollment(
            chat_id=GROUP, status="active", current_day=3, started_at=START, last_sent_at=START + 2 * DAY
        )
        session.add_all([mine, theirs])
        await session.flush()
        for run in (mine, theirs):
            for day in (1, 2, 3):
                sent = START + (day - 1) * DAY
                session.add(Delivery(enrollment_id=run.id, day=day, due_at=sent, status="sent", sent_at=sent))
            session.add(Delivery(enrollment_id=run.id, day=4, due_at=START + 3 * DAY))
        # The learner: lower back on day 1 (the fix partly helped), clean on day 2, a typed answer on day 3.
        rows = _answers(mine.id, LEARNER, LEARNER, 1, _LOWER_BACK, "partly") + _answers(
            mine.id, LEARNER, LEARNER, 2, _CLEAN
        )
        session.add_all(rows)
        session.add(
            UnreadAnswer(
                enrollment_id=mine.id,
                user_id=LEARNER,
                node="felt-where",
                text="kinda in my sacrum?",
                answered_at=START + 2 * DAY + timedelta(hours=3),
            )
        )
        await session.flush()
        for day, kg, felt in ((1, 12.0, "regress"), (2, 16.0, "clean"), (3, 20.0, "clean")):
            at = START + (day - 1) * DAY + timedelta(hours=3)
            linked = next((r.id for r in rows if r.day == day and r.advice), None)
            session.add(
                LogEntry(
                    chat_id=LEARNER,
                    user_id=LEARNER,
                    day=day,
                    exercise="kb-rdl",
                    weight_kg=kg,
                    unit="kg",
                    sets=3,
                    reps=12,
                    felt=felt,
                    checkin_answer_id=linked,
                    logged_at=at,
                )
            )
        session.add(Preference(chat_id=LEARNER, units="kg"))
        # The group.
        for user, name in {**MEMBERS, COACH: "Coach Kim"}.items():
            session.add(GroupMember(chat_id=GROUP, user_id=user, name=name, first_seen=START, last_seen=START))
        plan = {
            (3001, 1): _CLEAN,
            (3002, 1): _LOWER_BACK,
            (3003, 1): _CLEAN,
            (3001, 2): _CLEAN,
            (3002, 2): _RED_FLAG,
            (3003, 2): _QUIET,
            (3001, 3): _LOWER_BACK,
        }
        for (user, day), path in plan.items():
            session.add_all(_answers(theirs.id, GROUP, user, day, path))
