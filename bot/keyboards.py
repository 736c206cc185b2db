"""Inline keyboards used by more than one module (the lesson sender and the handlers).

Their callback data is packed by the typed classes in `bot.callback_data`."""

from __future__ import annotations

from typing import get_args

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot.callback_data import (
    CheckinPress,
    FixAnswer,
    FixHelped,
    GroupCheckinPress,
    HoldOk,
    LanguagePick,
    PlatesFor,
    ProfileChoice,
    RestartAnswer,
    RestTimer,
    StartLanguage,
    UnitsChoice,
)
from bot.content.models import Node, Texts
from bot.domain.rest import REST_BUTTONS, rest_text
from bot.domain.training import format_number
from bot.language import language_name, number_text

FIX_ANSWERS: tuple[FixHelped, ...] = get_args(FixHelped)


def checkin_keyboard(enrollment_id: int, day: int, node: Node, only: tuple[str, ...] = ()) -> InlineKeyboardMarkup:
    """One button per option offered as a button, two to a row; `only` narrows it to the options in doubt."""
    options = [o for o in node.options if o.button and (not only or o.id in only)]
    buttons = [
        InlineKeyboardButton(o.label, callback_data=CheckinPress(enrollment_id, day, node.id, o.id).pack())
        for o in options
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def fix_keyboard(answer_id: int, texts: Texts) -> InlineKeyboardMarkup:
    labels = {"yes": texts.fix_yes, "partly": texts.fix_partly, "no": texts.fix_no}
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(labels[a], callback_data=FixAnswer(answer_id, a).pack()) for a in FIX_ANSWERS]]
    )


def hold_keyboard(texts: Texts, *, restart_run: int | None = None) -> InlineKeyboardMarkup:
    """ "I'm fine now": the only way a course held for a red flag carries on (or, with
    `restart_run`, starts that run over)."""
    rows = [[InlineKeyboardButton(texts.hold_ok_button, callback_data=HoldOk().pack())]]
    if restart_run is not None:
        restart = RestartAnswer("fine", restart_run).pack()
        rows.append([InlineKeyboardButton(texts.hold_restart_button, callback_data=restart)])
    return InlineKeyboardMarkup(rows)


def group_checkin_keyboard(
    enrollment_id: int,
    day: int,
    node: Node,
    link: str | None = None,
    link_label: str = "",
    only: tuple[str, ...] = (),
) -> InlineKeyboardMarkup:
    """Everyone's check-in under a group lesson, two to a row, and (in the group) a link to the
    private chat where the full advice waits; `only` narrows it to the options in doubt."""
    buttons = [
        InlineKeyboardButton(o.label, callback_data=GroupCheckinPress(enrollment_id, day, node.id, o.id).pack())
        for o in node.options
        if o.button and (not only or o.id in only)
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    if link:
        rows.append([InlineKeyboardButton(link_label, url=link)])
    return InlineKeyboardMarkup(rows)


def rest_row(texts: Texts) -> list[InlineKeyboardButton]:
    """The 1:30 / 3:00 / 5:00 row: under a logged set, and again under "time's up"."""
    return [
        InlineKeyboardButton(
            texts.rest_button.format(time=rest_text(seconds)), callback_data=RestTimer(str(seconds)).pack()
        )
        for seconds in REST_BUTTONS
    ]


def plates_button(texts: Texts, weight: float, unit: str) -> InlineKeyboardButton:
    amount = f"{number_text(weight)} {unit}"
    return InlineKeyboardButton(
        texts.plates_button.format(weight=amount), callback_data=PlatesFor(format_number(weight), unit).pack()
    )


def units_row(texts: Texts) -> list[InlineKeyboardButton]:
    """The kg / lb row, under /units and in /settings (handled by preferences.units_button)."""
    return [
        InlineKeyboardButton(texts.units_kg_button, callback_data=UnitsChoice("kg").pack()),
        InlineKeyboardButton(texts.units_lb_button, callback_data=UnitsChoice("lb").pack()),
    ]


def language_keyboard(languages: tuple[str, ...]) -> InlineKeyboardMarkup:
    """One button per language we speak, each in its own name: readable whatever the person's language."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(language_name(code), callback_data=LanguagePick(code).pack()) for code in languages]]
    )


def start_language_keyboard(languages: tuple[str, ...], payload: str | None) -> InlineKeyboardMarkup:
    """The languages a new person's first /start asks them to pick from: the press goes on with
    that /start, `payload` (a group's link) included."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(language_name(code), callback_data=StartLanguage(code, payload).pack())
                for code in languages
            ]
        ]
    )


def coach_page_keyboard(texts: Texts, mini_app_url: str | None, chat_id: int) -> InlineKeyboardMarkup | None:
    """The button under a coach's summary that opens the group's page in the Mini App (None
    without MINI_APP_URL). Telegram offers such buttons only in private chats, where summaries go."""
    if mini_app_url is None:
        return None
    page = WebAppInfo(f"{mini_app_url}coach?chat={chat_id}")
    return InlineKeyboardMarkup([[InlineKeyboardButton(texts.miniapp_coach_button, web_app=page)]])


def profile_keyboard(texts: Texts) -> InlineKeyboardMarkup:
    """Runner, lifter or both: onboarding's first question, /settings, and a group member's invitation."""
    labels = {"runner": texts.profile_runner, "lifter": texts.profile_lifter, "both": texts.profile_both}
    buttons = [InlineKeyboardButton(label, callback_data=ProfileChoice(p).pack()) for p, label in labels.items()]
    return InlineKeyboardMarkup([buttons])
