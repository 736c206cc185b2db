"""Cues on demand: /cue, /drill, topic buttons and inline mode, in private chats and groups.

The search itself lives in `bot.domain.cue_search`; its index is built once at start-up
(`context.services.cue_index`). These handlers only read the update, look up and render.
"""

from __future__ import annotations

from datetime import timedelta
from typing import get_args

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ChatType
from telegram.ext import Application, CommandHandler, InlineQueryHandler, filters

from bot.callback_data import CueTopic
from bot.content.models import Advice, Content, Texts, Topic
from bot.context import CoachContext
from bot.domain.text import plain_text
from bot.handlers.common import button_handler, reply
from bot.render import user_text

TOPICS: tuple[str, ...] = get_args(Topic)
INLINE_RESULTS = 5
# Cue results are the same for everyone and change only with a deploy: let Telegram cache them.
INLINE_CACHE = timedelta(minutes=5)


def cue_card(content: Content, cue_id: str) -> str:
    """One cue with its reason and the drills that train it."""
    cue = content.cues[cue_id]
    drills = ", ".join(content.drills[d].name for d in cue.drills)
    return f"<b>{cue.text}</b>\n<i>{cue.why}</i>\n{content.texts.cue_drills_label}: {drills}"


def drill_card(content: Content, drill_id: str) -> str:
    """How to do a drill, its dose, what goes wrong and the cues that go with it."""
    drill, texts = content.drills[drill_id], content.texts
    parts = [
        f"<b>{drill.name}</b>\n{texts.drill_dose_label}: {drill.dose}\n<i>{drill.summary}</i>",
        f"<b>{texts.drill_how_heading}</b>\n" + "\n".join(f"{i}. {step}" for i, step in enumerate(drill.steps, 1)),
    ]
    if drill.faults:
        parts.append(
            f"<b>{texts.drill_faults_heading}</b>\n" + "\n".join(f"• <i>{f.fault}</i>: {f.fix}" for f in drill.faults)
        )
    if drill.cues:
        parts.append(f"<b>{texts.drill_cues_heading}</b>\n" + _bullets(content, drill.cues))
    return "\n\n".join(parts)


def _bullets(content: Content, cue_ids: list[str]) -> str:
    return "\n".join(f"• {content.cues[c].text}" for c in cue_ids)


def _topic_label(texts: Texts, topic: str) -> str:
    return getattr(texts, f"cue_topic_{topic}")


def _topic_keyboard(texts: Texts) -> InlineKeyboardMarkup:
    """The seven topics, two to a row, so a cue is at most two taps away."""
    buttons = [InlineKeyboardButton(_topic_label(texts, t), callback_data=CueTopic(t).pack()) for t in TOPICS]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def _drill_list(content: Content) -> str:
    return "\n".join(f"• {drill.name}" for drill in content.drills.values())


def _advice(content: Content, advice_id: str | None) -> Advice | None:
    return content.checkin.advice_by_id.get(advice_id)


async def cue_command(update: Update, context: CoachContext) -> None:
    """/cue WORDS finds the best cues; /cue alone offers your own cues (in private), then the topics."""
    words = " ".join(context.args or [])
    if words.strip():
        await _search(update, context, words)
    elif update.effective_chat.type == ChatType.PRIVATE:
        await _personal(update, context)
    else:
        texts = context.services.content.texts
        await reply(update, texts.cue_pick_topic, _topic_keyboard(texts))


async def _search(update: Update, context: CoachContext, words: str) -> None:
    content = context.services.content
    hits = context.services.cue_index.search(words)
    if not hits:
        await reply(update, content.texts.cue_not_found.format(text=user_text(words)), _topic_keyboard(content.texts))
        return
    heading = content.texts.cue_results_heading.format(text=user_text(words))
    await reply(update, f"<b>{heading}</b>\n\n" + "\n\n".join(cue_card(content, hit.cue_id) for hit in hits))


async def _personal(update: Update, context: CoachContext) -> None:
    """The cues of the person's current lesson and of their latest check-in advice, then the topics."""
    content = context.services.content
    texts = content.texts
    focus = await context.services.answers.focus(update.effective_chat.id, update.effective_user.id)
    sections, shown = [], []
    if focus.day >= 1:
        day = min(focus.day, content.days)
        lesson = content.lesson(day)
        shown = [*lesson.cues.down, *lesson.cues.up]
        sections.append(f"<b>{texts.cue_lesson_heading.format(day=day)}</b>\n" + _bullets(content, shown))
    advice = _advice(content, focus.advice)
    fresh = [] if advice is None else [c for c in advice.cues if c not in shown]
    if fresh:
        heading = texts.cue_checkin_heading.format(title=advice.title)
        sections.append(f"<b>{heading}</b>\n" + _bullets(content, fresh))
    sections.append(texts.cue_pick_topic)
    await reply(update, "\n\n".join(sections), _topic_keyboard(texts))


async def topic_pressed(update: Update, context: CoachContext, button: CueTopic) -> None:
    """A topic button: every cue of that topic, with its reason, in the chat the button is in."""
    content = context.services.content
    query, topic = update.callback_query, button.topic
    await query.answer()
    cards = "\n\n".join(
        f"<b>{content.cues[c].text}</b>\n<i>{content.cues[c].why}</i>" for c in context.services.cue_index.topic(topic)
    )
    await reply(update, f"<b>{_topic_label(content.texts, topic)}</b>\n\n{cards}")


async def drill_command(update: Update, context: CoachContext) -> None:
    """/drill NAME shows the drill card; a name with typos still finds it."""
    content = context.services.content
    name = " ".join(context.args or [])
    if not name.strip():
        await reply(update, f"{content.texts.drill_ask_name}\n{_drill_list(content)}")
        return
    drill_id = context.services.cue_index.drill(name)
    if drill_id is None:
        await reply(update, f"{content.texts.drill_not_found.format(text=user_text(name))}\n{_drill_list(content)}")
        return
    await reply(update, drill_card(content, drill_id))


async def inline_cue(update: Update, context: CoachContext) -> None:
    """`@bot lower back` in any chat: matching cues to share; nothing typed yet, one per topic."""
    content, index = context.services.content, context.services.cue_index
    query = update.inline_query
    if query.query.strip():
        cue_ids = [hit.cue_id for hit in index.search(query.query, limit=INLINE_RESULTS)]
    else:
        cue_ids = index.starters()
    results = [
        InlineQueryResultArticle(
            id=cue_id,
            title=plain_text(content.cues[cue_id].text),
            description=plain_text(content.cues[cue_id].why),
            input_message_content=InputTextMessageContent(cue_card(content, cue_id)),
        )
        for cue_id in cue_ids
    ]
    # Answers are in the asker's language: Telegram may share a cached answer only when there is one.
    personal = len(context.services.languages.available) > 1
    await query.answer(results, cache_time=INLINE_CACHE, is_personal=personal)


def register(application: Application) -> None:
    chats = filters.ChatType.PRIVATE | filters.ChatType.GROUPS
    application.add_handler(CommandHandler("cue", cue_command, filters=chats))
    application.add_handler(CommandHandler("drill", drill_command, filters=chats))
    application.add_handler(button_handler(CueTopic, topic_pressed))
    application.add_handler(InlineQueryHandler(inline_cue))
