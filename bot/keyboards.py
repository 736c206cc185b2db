"""Inline keyboards used by more than one module (the lesson sender and the handlers).

Callback data formats, all well under Telegram's 64 bytes (the content loader checks the longest):
  ci:<enrollment>:<day>:<node>:<option>   a check-in answer
  fx:<answer id>:<yes|partly|no>          did the corrective advice help?
  hold:ok                                 fine again after a red flag
  gci:<enrollment>:<day>:<node>:<option>  a member's check-in under a group lesson (or its private follow-up)
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.content.models import Node, Texts
from bot.domain.groups import GroupButton

FIX_ANSWERS = ("yes", "partly", "no")


def checkin_keyboard(enrollment_id: int, day: int, node: Node, only: tuple[str, ...] = ()) -> InlineKeyboardMarkup:
    """One button per option offered as a button, two to a row; `only` narrows it to the options in doubt."""
    options = [o for o in node.options if o.button and (not only or o.id in only)]
    buttons = [
        InlineKeyboardButton(o.label, callback_data=f"ci:{enrollment_id}:{day}:{node.id}:{o.id}") for o in options
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def fix_keyboard(answer_id: int, texts: Texts) -> InlineKeyboardMarkup:
    labels = {"yes": texts.fix_yes, "partly": texts.fix_partly, "no": texts.fix_no}
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(labels[a], callback_data=f"fx:{answer_id}:{a}") for a in FIX_ANSWERS]]
    )


def hold_keyboard(texts: Texts) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(texts.hold_ok_button, callback_data="hold:ok")]])


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
        InlineKeyboardButton(o.label, callback_data=GroupButton(enrollment_id, day, node.id, o.id).data)
        for o in node.options
        if o.button and (not only or o.id in only)
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    if link:
        rows.append([InlineKeyboardButton(link_label, url=link)])
    return InlineKeyboardMarkup(rows)
