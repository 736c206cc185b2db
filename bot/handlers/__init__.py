"""Telegram handlers, one module per feature, each registering its own.

Order matters: within a group python-telegram-bot stops at the first handler that matches, so the
specific feature handlers come first and the catch-all fallbacks last.
"""

from __future__ import annotations

from telegram.ext import Application

from bot.handlers import (
    access,
    checkin,
    course,
    cues,
    fallback,
    group,
    language,
    lifting,
    onboarding,
    operators,
    preferences,
    privacy,
    training,
)


def register_all(application: Application) -> None:
    access.register(application)  # its own group, ahead of all: no button reaches a feature unchecked
    # the language of every update, set before anyone answers it; a /start that asked for one goes on here
    language.register(application, start=onboarding.start, open_link=group.follow_link)
    group.register_links(application)  # `/start` with a group's link, ahead of onboarding's /start
    onboarding.register(application)
    course.register(application)
    checkin.register(application)
    cues.register(application)
    lifting.register(application)  # before privacy: '/export csv' is lifting's, '/export' privacy's
    training.register(application)
    preferences.register(application)
    privacy.register(application)
    operators.register(application)
    group.register(application)
    # last: catches whatever nobody else claimed; free text is offered to these readers in order
    readers = [onboarding.read_answer, checkin.read_answer, group.typed_follow_up, checkin.read_red_flag]
    fallback.register(application, readers)
