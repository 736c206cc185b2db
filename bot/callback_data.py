"""Callback data, typed: one class per kind of button, packed and unpacked here and nowhere else.

Modelled on aiogram's `CallbackData`: `CheckinPress(12, 3, "felt-where", "lower-back").pack()` is
`ci:12:3:felt-where:lower-back`, and `CheckinPress.unpack(data)` gives the typed button back, or None
for anything malformed or forged. A modified client can send any data on any message, so unpacking
is as strict as reading typed text: ids are ASCII digits only (no superscripts, no Arabic-Indic or
fullwidth digits, no sign, no leading zero) and within the database's range, keys and enums are
from their own small alphabets. The wire formats are those of the buttons already in people's
chats, so old buttons keep working. Every packed value fits Telegram's 64 bytes (a test checks
the longest of each kind).
"""

from __future__ import annotations

import re
from dataclasses import Field, dataclass, fields
from functools import cache
from types import UnionType
from typing import Annotated, ClassVar, Literal, Self, Union, get_args, get_origin, get_type_hints

from bot.content.models import Topic

MAX_BYTES = 64  # Telegram's limit for callback data
MAX_ROW_ID = 2**31 - 1  # the database's INTEGER primary keys
MAX_DAY = 999


@dataclass(frozen=True)
class Bounds:
    """An integer written in ASCII digits, without sign or leading zero, between low and high."""

    low: int
    high: int


@dataclass(frozen=True)
class Pattern:
    """A string matching this (ASCII) pattern in full."""

    regex: str


RowId = Annotated[int, Bounds(1, MAX_ROW_ID)]
Day = Annotated[int, Bounds(1, MAX_DAY)]
Key = Annotated[str, Pattern(r"[a-z0-9_-]{1,40}")]  # ids of check-in nodes and options
ZoneName = Annotated[str, Pattern(r"[A-Za-z0-9_+/-]{1,57}")]  # an IANA zone id, within 64 bytes with its prefix
ClockTime = Annotated[str, Pattern(r"[0-2][0-9]:[0-5][0-9]")]

_DIGITS = re.compile(r"[1-9][0-9]*", re.ASCII)


class CallbackData:
    """A kind of button: subclasses are frozen dataclasses declaring their prefix and fields.

    Fields are read in order, separated by ':'; the last one takes the rest of the data, so it may
    itself hold a ':' (a lesson time). A trailing field with a None default may be left out: the
    form buttons had before the field was added."""

    prefix: ClassVar[str]
    pattern: ClassVar[re.Pattern[str]]  # what a handler for this kind is registered with

    def __init_subclass__(cls, *, prefix: str, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.prefix = prefix
        cls.pattern = re.compile(rf"^{re.escape(prefix)}:")

    def pack(self) -> str:
        values = [getattr(self, field.name) for field in fields(self)]
        while values and values[-1] is None:
            values.pop()
        data = ":".join([self.prefix, *(str(value) for value in values)])
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
        return data

    @classmethod
    def unpack(cls, data: str | None) -> Self | None:
        """The button `data` stands for, or None when it is not exactly one of this kind."""
        head = cls.prefix + ":"
        if not data or not data.startswith(head) or len(data.encode()) > MAX_BYTES:
            return None
        declared, hints = _schema(cls)
        parts: list[str | None] = list(data[len(head) :].split(":", len(declared) - 1))
        if len(parts) < len(declared):
            if len(parts) != len(declared) - 1 or declared[-1].default is not None:
                return None
            parts.append(None)
        values = [_read(part, hint) for part, hint in zip(parts, hints, strict=True)]
        if any(value is _INVALID for value in values):
            return None
        return cls(*values)


_INVALID = object()


@cache
def _schema(kind: type[CallbackData]) -> tuple[tuple[Field, ...], tuple[object, ...]]:
    """A kind's fields and their annotated types, read once (every press is unpacked)."""
    declared = fields(kind)  # type: ignore[arg-type]
    hints = get_type_hints(kind, include_extras=True)
    return declared, tuple(hints[field.name] for field in declared)


def _read(text: str | None, hint: object) -> object:
    """One field's value from its text, or _INVALID."""
    if text is None:
        return None
    if get_origin(hint) in (Union, UnionType):  # `X | None`: an optional trailing field
        [hint] = [arg for arg in get_args(hint) if arg is not type(None)]
    if get_origin(hint) is Literal:
        return text if text in get_args(hint) else _INVALID
    _, rule = get_args(hint)
    if isinstance(rule, Bounds):
        if not _DIGITS.fullmatch(text) or len(text) > len(str(rule.high)):
            return _INVALID
        number = int(text)
        return number if rule.low <= number <= rule.high else _INVALID
    return text if re.fullmatch(rule.regex, text, re.ASCII) else _INVALID


def prefix_of(data: str | None) -> str:
    """The kind a piece of data claims to be: everything before its first ':'."""
    return (data or "").split(":", 1)[0]


@cache
def kinds() -> tuple[type[CallbackData], ...]:
    """Every kind of button, longest prefix first (so `onb:profile` is tried before any `onb`);
    all are defined in this module, so the order is worked out once."""
    return tuple(sorted(CallbackData.__subclasses__(), key=lambda kind: len(kind.prefix), reverse=True))


def unpack(data: str | None) -> CallbackData | None:
    """The typed button any callback data stands for, or None for anything malformed or forged.
    The access gate calls this once per press and hands the result to the handler."""
    for kind in kinds():
        if data and data.startswith(kind.prefix + ":"):
            return kind.unpack(data)
    return None


# ----------------------------------------------------------------------------- the course


@dataclass(frozen=True)
class ProfileChoice(CallbackData, prefix="onb:profile"):
    profile: Literal["runner", "lifter", "both"]


@dataclass(frozen=True)
class TimeChoice(CallbackData, prefix="onb:time"):
    time: ClockTime


@dataclass(frozen=True)
class ZonePick(CallbackData, prefix="onb:tz"):
    zone: ZoneName


@dataclass(frozen=True)
class SettingsChoice(CallbackData, prefix="set"):
    field: Literal["time", "timezone", "profile"]


@dataclass(frozen=True)
class LanguagePick(CallbackData, prefix="lang"):
    """Speak this language to the presser from now on (a code with a content tree, checked on use)."""

    language: Annotated[str, Pattern(r"[a-z]{2}")]


@dataclass(frozen=True)
class StartLanguage(CallbackData, prefix="start"):
    """A language picked when a new person's first /start asked for one; `payload` is that /start's
    deep-link payload (a group's link), carried through the picker and read again, as typed, on use."""

    language: Annotated[str, Pattern(r"[a-z]{2}")]
    payload: Annotated[str, Pattern(r"[gs][0-9_]{1,14}")] | None = None


@dataclass(frozen=True)
class RestartAnswer(CallbackData, prefix="restart"):
    """Start over, or not, or (`fine`, under a course held for a red flag) "I'm fine now, start
    over"; `enrollment` is the run the question was about (absent on old buttons), so a second
    press of the same button cannot start over the run the first one created."""

    answer: Literal["yes", "no", "fine"]
    enrollment: RowId | None = None


# ----------------------------------------------------------------------------- check-ins


@dataclass(frozen=True)
class CheckinPress(CallbackData, prefix="ci"):
    enrollment: RowId
    day: Day
    node: Key
    option: Key


@dataclass(frozen=True)
class GroupCheckinPress(CallbackData, prefix="gci"):
    """A member's check-in under a group lesson, or its follow-up in private."""

    enrollment: RowId
    day: Day
    node: Key
    option: Key


FixHelped = Literal["yes", "partly", "no"]


@dataclass(frozen=True)
class FixAnswer(CallbackData, prefix="fx"):
    """Did the corrective advice help?"""

    answer: RowId
    helped: FixHelped


@dataclass(frozen=True)
class HoldOk(CallbackData, prefix="hold"):
    """Fine again after a red flag."""

    choice: Literal["ok"] = "ok"


# ----------------------------------------------------------------------------- cues, log, data


@dataclass(frozen=True)
class CueTopic(CallbackData, prefix="cue:topic"):
    topic: Topic


@dataclass(frozen=True)
class FeltMark(CallbackData, prefix="felt"):
    """How a logged set felt."""

    entry: RowId
    mark: Literal["clean", "regress"]


@dataclass(frozen=True)
class UnitsChoice(CallbackData, prefix="units"):
    unit: Literal["kg", "lb"]


@dataclass(frozen=True)
class WeeklyChoice(CallbackData, prefix="weekly"):
    state: Literal["on", "off"]


@dataclass(frozen=True)
class ForgetAnswer(CallbackData, prefix="forget"):
    answer: Literal["yes", "no"]


@dataclass(frozen=True)
class PickExercise(CallbackData, prefix="lg"):
    """The exercise for a /log line that named an unknown one; the typed line waits on the server."""

    pending: RowId
    exercise: Key


@dataclass(frozen=True)
class PlatesFor(CallbackData, prefix="pl"):
    """The plates for a suggested load; the number is read again with the typed /plates bounds."""

    weight: Annotated[str, Pattern(r"[0-9]{1,6}(\.[0-9]{1,2})?")]
    unit: Literal["kg", "lb"]


@dataclass(frozen=True)
class RestTimer(CallbackData, prefix="rest"):
    """Start a rest timer of so many seconds (read again with the typed /rest bounds), or stop it."""

    length: Annotated[str, Pattern(r"[1-9][0-9]{0,4}|off")]
