"""The tables. The database, not memory, is the truth for who gets which lesson when."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, UniqueConstraint, text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class SendStatus(StrEnum):
    """Where a message the bot sends on its own (a lesson, a rest timer) is: claimed before the
    send, its outcome recorded after."""

    PENDING = "pending"  # waiting for its time (or handed back)
    SENDING = "sending"  # claimed by a worker; the claim expires after the lease
    SENT = "sent"
    UNCERTAIN = "uncertain"  # the send's outcome is unknown: most likely arrived, never resent
    FAILED = "failed"


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC (SQLite has no time zones), always read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _utc(**kwargs) -> Column:
    return Column(UTCDateTime(), **kwargs)


class Subscriber(SQLModel, table=True):
    """A chat that takes the course: a person's private chat, or (for coaching) a group."""

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    kind: str = Field(default="private", max_length=16)
    name: str = Field(default="", max_length=128)
    profile: str | None = Field(default=None, max_length=8)
    lesson_time: str | None = Field(default=None, max_length=5)  # "HH:MM", local
    timezone: str | None = Field(default=None, max_length=64)  # IANA name
    awaiting: str | None = Field(default=None, max_length=16)  # which typed answer comes next
    onboarded: bool = False
    reachable: bool = True  # False after Telegram said blocked / chat not found
    created_at: datetime = Field(sa_column=_utc(nullable=False))
    thread_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))  # a forum's lesson topic


class Enrollment(SQLModel, table=True):
    """One run through the course. /restart replaces it with a new one; the old stays as history."""

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("subscriber.chat_id", ondelete="CASCADE"), nullable=False, index=True)
    )
    status: str = Field(default="active", max_length=16)  # a `bot.domain.course.CourseStatus`
    current_day: int = 0  # the last lesson delivered; 0 before day 1
    started_at: datetime = Field(sa_column=_utc(nullable=False))
    last_sent_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    # The check-in question open in a private chat, so free text can be read as its answer.
    checkin_day: int | None = None
    checkin_node: str | None = Field(default=None, max_length=40)


class Delivery(SQLModel, table=True):
    """One lesson to deliver, unique per (enrollment, day): the row is the schedule and the receipt."""

    __table_args__ = (
        UniqueConstraint("enrollment_id", "day", name="uq_delivery_enrollment_day"),
        # The scheduler tick only ever looks at pending rows by due time, or at stale claims.
        Index(
            "ix_delivery_pending_due",
            "due_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_delivery_sending_claimed",
            "claimed_at",
            sqlite_where=text("status = 'sending'"),
            postgresql_where=text("status = 'sending'"),
        ),
        Index(
            "ix_delivery_remind_at",
            "remind_at",
            sqlite_where=text("remind_at IS NOT NULL"),
            postgresql_where=text("remind_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    enrollment_id: int = Field(sa_column=Column(ForeignKey("enrollment.id", ondelete="CASCADE"), nullable=False))
    day: int
    due_at: datetime = Field(sa_column=_utc(nullable=False))
    status: str = Field(default=SendStatus.PENDING, max_length=16)  # a SendStatus
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    error: str | None = Field(default=None, max_length=200)
    remind_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))  # one check-in nudge


class CheckinAnswer(SQLModel, table=True):
    """One person's answer to one check-in question on one course day; a new answer replaces it."""

    __table_args__ = (UniqueConstraint("enrollment_id", "user_id", "day", "node", name="uq_checkin_answer"),)

    id: int | None = Field(default=None, primary_key=True)
    enrollment_id: int = Field(
        sa_column=Column(ForeignKey("enrollment.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))  # where it was asked
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))  # who answered
    day: int
    node: str = Field(max_length=40)
    option: str = Field(max_length=20)
    text: str | None = Field(default=None, max_length=500)  # the free text, when typed
    advice: str | None = Field(default=None, max_length=40)  # the advice it led to, for leaves
    effect: str | None = Field(default=None, max_length=16)
    fix_helped: str | None = Field(default=None, max_length=8)  # yes|partly|no, asked at the next check-in
    answered_at: datetime = Field(sa_column=_utc(nullable=False))


class UnreadAnswer(SQLModel, table=True):
    """A typed check-in answer the bot could not read and asked about with buttons, kept so the
    lexicon can learn the words it missed. Reports show the text, never who wrote it."""

    __tablename__ = "unread_answer"

    id: int | None = Field(default=None, primary_key=True)
    enrollment_id: int = Field(
        sa_column=Column(ForeignKey("enrollment.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))  # for /export and /forget only
    node: str = Field(max_length=40)
    text: str = Field(max_length=500)
    answered_at: datetime = Field(sa_column=_utc(nullable=False, index=True))


class LogEntry(SQLModel, table=True):
    """One /log line: an exercise with weight, sets and reps, and how it felt."""

    __table_args__ = (Index("ix_logentry_user_logged", "user_id", "logged_at"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    day: int | None = None  # the course day it was logged on, while a lesson is fresh
    exercise: str = Field(max_length=40)  # a drill id or a lift key (bot/domain/training.py)
    weight_kg: float | None = None  # None: body weight
    unit: str = Field(max_length=2)  # kg|lb, the unit it was typed in and is shown in
    sets: int
    reps: int
    felt: str | None = Field(default=None, max_length=16)  # clean|regress, marked under the log reply
    rpe: float | None = None  # effort of these sets (RIR is stored as 10 - RIR); None: not said
    line: int | None = None  # the id of the first row of its /log line: '8,8,7' stores two rows
    checkin_answer_id: int | None = Field(
        default=None, sa_column=Column(ForeignKey("checkinanswer.id", ondelete="SET NULL"), nullable=True)
    )  # the check-in answer of the same course day: how that day's hinges felt
    logged_at: datetime = Field(sa_column=_utc(nullable=False))


class Preference(SQLModel, table=True):
    """A person's own choices outside the course schedule: log units and the weekly check-in."""

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    units: str = Field(default="lb", max_length=2)  # kg|lb
    weekly: bool = False  # opted in to a check-in message once a (course) week
    last_weekly_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    bar_kg: float | None = None  # the bar for /plates; None: 20 kg or 45 lb by the units


class PendingLog(SQLModel, table=True):
    """A /log line waiting for its exercise to be picked from 'did you mean' buttons: the buttons
    carry only this row's id, so a forged button cannot store numbers nobody typed."""

    __tablename__ = "pending_log"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    text: str = Field(max_length=500)  # the line as typed, read again by the same parser
    created_at: datetime = Field(sa_column=_utc(nullable=False))


class ScheduledMessage(SQLModel, table=True):
    """A message a person asked for at a time (a rest timer's "time's up"), delivered by the same
    claim-then-send tick as lessons: exactly once, across restarts and processes."""

    __tablename__ = "scheduled_message"
    __table_args__ = (
        Index(
            "ix_scheduled_message_pending_due",
            "due_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    kind: str = Field(max_length=16)  # ScheduledKind in bot/delivery/timers.py
    seconds: int  # the rest it ends, for the message
    due_at: datetime = Field(sa_column=_utc(nullable=False))
    status: str = Field(default=SendStatus.PENDING, max_length=16)  # a SendStatus
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class ProcessedUpdate(SQLModel, table=True):
    """An update already handled: Telegram delivers a webhook update again when it missed the answer."""

    __tablename__ = "processed_update"

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    seen_at: datetime = Field(sa_column=_utc(nullable=False, index=True))  # old rows are pruned by age


class GroupMember(SQLModel, table=True):
    """Someone seen in a coached group (pressed a check-in button or used a command there): the
    roster a coach's summary reads to name who has not checked in yet."""

    __tablename__ = "group_member"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    name: str = Field(default="", max_length=128)
    first_seen: datetime = Field(sa_column=_utc(nullable=False))
    last_seen: datetime = Field(sa_column=_utc(nullable=False))


class SendBudget(SQLModel, table=True):
    """The send schedule of one of Telegram's limits (all sends of the bot, or one group), shared by
    every process: `tat` is when, in the database's clock (epoch seconds), the booked slots run out."""

    __tablename__ = "send_budget"

    scope: str = Field(primary_key=True, max_length=64)
    tat: float


class ChatLanguage(SQLModel, table=True):
    """The language a chat is spoken to in: a person's (from Telegram's language_code on first
    contact, or as they chose), or a group's as its admin set it."""

    __tablename__ = "chat_language"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    language: str = Field(max_length=8)  # a code with a content tree: en, es, ru
    chosen: bool = False  # picked with /language (or by a group's admin), not guessed from Telegram
