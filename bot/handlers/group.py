"""Group coaching: one coach, many people, one chat (a group, a forum topic or a channel).

Admins run the course with /groupcourse and read /summary; members check in with the buttons under
each lesson, get a short tip in an alert and the full advice in private. A good citizen: the bot
speaks when it is added, when an admin asks, when a lesson is due, and never to ordinary chatter.
Members' individual answers only ever reach the admins, privately.
"""

from __future__ import annotations

import logging
import re
from html import escape

from telegram import ChatMember, ChatMemberUpdated, Message, Update, User
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import metrics
from bot.callback_data import GroupCheckinPress
from bot.context import CoachContext
from bot.domain.checkin import Step, descendants, step
from bot.domain.course import CourseStatus
from bot.domain.groups import (
    StartLink,
    fit,
    parse_start_payload,
    short_tip,
    start_link,
    summary_link_payload,
)
from bot.handlers.common import ask_again, button_handler, display_name, note_member, reply, send_html
from bot.keyboards import coach_page_keyboard, group_checkin_keyboard, profile_keyboard
from bot.language import speaking
from bot.render import advice_text, opening_line, user_text
from bot.services.answers import AnswerWrite, answer_write
from bot.services.course import Enrollment, Subscriber
from bot.services.groups import SummaryVerdict

log = logging.getLogger(__name__)

DEFAULT_TIME, DEFAULT_ZONE = "07:00", "Etc/UTC"
CHANNEL_SUMMARY = re.compile(r"^/summary(@\w+)?(\s|$)", re.IGNORECASE)
PRESENT = (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER)


# ----------------------------------------------------------------------------- coach commands


async def summary_command(update: Update, context: CoachContext) -> None:
    await _summary_command(update, context)


async def channel_summary(update: Update, context: CoachContext) -> None:
    """A channel post carries no sender and may carry no command entity: read it from the text."""
    _, _, addressee = update.effective_message.text.split()[0][1:].partition("@")
    if addressee and addressee.lower() != context.bot.username.lower():
        return
    await _summary_command(update, context)


async def _summary_command(update: Update, context: CoachContext) -> None:
    await note_member(context, update.effective_chat.id, update.effective_user)
    if not await context.services.access.is_admin(update, context.bot):
        await reply(update, context.services.content.texts.group_admins_only)
        return
    await _summary(update, context)


async def _summary(update: Update, context: CoachContext) -> None:
    """The detail goes to the asking admin privately; the chat only hears that it was sent (or, with
    nobody to answer privately, the anonymous tally)."""
    services, chat, user = context.services, update.effective_chat, update.effective_user
    texts = services.content.texts
    asker = None if user is None or user.is_bot else user.id
    summary = await services.groups.summary(context.bot, chat.id, asker)
    if summary.verdict == SummaryVerdict.NOT_STARTED:
        await reply(update, texts.group_not_started)
    elif summary.verdict == SummaryVerdict.NOT_YET:
        await reply(update, texts.group_summary_not_yet)
    elif summary.verdict == SummaryVerdict.TO_ADMINS:
        tally = summary.tally or (
            texts.group_summary_no_answers if summary.has_question else texts.group_summary_no_question
        )
        await reply(update, texts.group_summary_to_admins.format(day=summary.day, tally=tally))
    elif summary.verdict == SummaryVerdict.SENT:
        await reply(update, texts.group_summary_sent.format(name=user_text(user.first_name)))
    else:
        link = start_link(context.bot.username, summary_link_payload(summary.enrollment_id))
        await reply(update, texts.group_summary_start_me.format(link=link))


# ----------------------------------------------------------------------------- members' check-ins


async def pressed(update: Update, context: CoachContext, button: GroupCheckinPress) -> None:
    """A check-in button: under the group lesson (the day's question) or, in private, a follow-up."""
    services, query = context.services, update.callback_query
    texts, matcher = services.content.texts, services.matcher
    next_step = step(matcher, button.node, button.option)
    if next_step is None:
        await query.answer(texts.button_expired)
        return
    enrollment, subscriber = await services.groups.run_on_screen(button.enrollment)
    if subscriber is None or subscriber.kind == ChatType.PRIVATE or not 1 <= button.day <= enrollment.current_day:
        await query.answer(texts.button_expired)
        return
    if enrollment.status == CourseStatus.REPLACED:
        await query.answer(texts.checkin_expired)
        return
    entry = services.content.lesson(button.day).checkin
    in_group = update.effective_chat.type != ChatType.PRIVATE
    belongs = (
        update.effective_chat.id == enrollment.chat_id and button.node == entry
        if in_group
        else button.node == entry or button.node in descendants(matcher, entry or "")
    )
    if not belongs:
        await query.answer(texts.button_expired)
        return
    changed = await _record(
        context, enrollment, button.day, button.node, button.option, update.effective_user, next_step
    )
    if in_group:
        await query.answer(_alert(context, next_step), show_alert=True)
        _schedule_tally(context, update.effective_chat.id, query.message.message_id, enrollment.id, button.day)
        return
    await query.answer(texts.checkin_recorded if changed else texts.checkin_already)
    if changed:  # a second tap asks nothing twice
        await _answer_privately(update, context, enrollment.id, button.day, next_step)


async def _record(
    context: CoachContext,
    enrollment: Enrollment,
    day: int,
    node_id: str,
    option_id: str,
    user: User,
    next_step: Step,
    text: str | None = None,
) -> bool:
    """One member's answer for the day, through the answers service like a private one: pressing
    again changes it, never counts it twice. False when the same answer was stored already. A group
    answer never holds the group's course."""
    services = context.services

    def decide(_enrollment: Enrollment | None) -> AnswerWrite:
        return answer_write(
            services.matcher,
            services.clock.now(),
            enrollment_id=enrollment.id,
            chat_id=enrollment.chat_id,
            user_id=user.id,
            day=day,
            node_id=node_id,
            option_id=option_id,
            text=text,
            next_step=next_step,
        )

    outcome = await services.answers.write(enrollment.id, decide, member=user.id)
    await note_member(context, enrollment.chat_id, user)
    if outcome.changed:
        metrics.checkin_recorded()
    return outcome.changed


def _alert(context: CoachContext, next_step: Step) -> str:
    """What the presser alone sees: the short tip, a pointer to the follow-up in private, or stop."""
    texts = context.services.content.texts
    if next_step.node is not None:
        return texts.group_alert_followup
    if next_step.advice.effect == "red_flag":
        return texts.group_alert_red_flag
    return fit(texts.group_alert_tip, short_tip(next_step.advice.title, next_step.advice.do))


async def _answer_privately(
    update: Update, context: CoachContext, enrollment_id: int, day: int, next_step: Step, opening: str | None = None
) -> None:
    first = opening_line(context.services.content, opening)
    if next_step.node is not None:
        keyboard = group_checkin_keyboard(enrollment_id, day, next_step.node)
        await reply(update, f"{first}<b>{next_step.node.question}</b>", keyboard)
    else:
        await reply(update, f"{first}{advice_text(context.services.content, next_step.advice)}")


async def typed_follow_up(
    update: Update, context: CoachContext, _subscriber: Subscriber | None, _enrollment: Enrollment | None
) -> bool:
    """Text in private from a member whose group check-in today waits on a follow-up (why the back
    worked, the pain-check): read as its answer, as in a private check-in. False when none waits."""
    services, user, text = context.services, update.effective_user, update.effective_message.text
    waiting = await services.answers.waiting_follow_up(user.id)
    if waiting is None:
        return False
    enrollment, latest = waiting
    following = step(services.matcher, latest.node, latest.option)
    if following is None or following.node is None:
        return False
    day, node_id = latest.day, following.node.id
    decision, answer = await services.answers.read_typed(services.matcher, enrollment.id, user.id, day, node_id, text)
    if answer is None:
        await ask_again(update, context, enrollment.id, day, node_id, text, decision, group_checkin_keyboard)
        return True
    await _record(context, enrollment, day, node_id, answer.option, user, answer.step, text)
    await _answer_privately(update, context, enrollment.id, day, answer.step, answer.opening)
    return True


def _schedule_tally(context: CoachContext, chat_id: int, message_id: int, enrollment_id: int, day: int) -> None:
    """Edit the lesson's tally a few seconds after a press; presses meanwhile ride on that one edit,
    so a message is edited at most once per GROUP_TALLY_SECONDS however many people press."""
    name = f"tally:{chat_id}:{message_id}"
    if context.job_queue.get_jobs_by_name(name):
        return
    context.job_queue.run_once(
        _edit_tally,
        when=context.services.settings.group_tally_seconds,
        data=(chat_id, message_id, enrollment_id, day),
        name=name,
    )


async def _edit_tally(context: CoachContext) -> None:
    """The lesson's last part again, with the counts as the database has them now. Best effort."""
    chat_id, message_id, enrollment_id, day = context.job.data
    with speaking(await context.services.languages.of_chat(chat_id)):  # a job: no update set the language
        last = await context.services.groups.lesson_with_tally(enrollment_id, day, context.bot.username)
    try:
        await context.bot.edit_message_text(last.text, chat_id=chat_id, message_id=message_id, reply_markup=last.markup)
    except TelegramError as exc:  # unchanged counts, a deleted message, a migrated group: the next press retries
        log.debug("tally of message %s in chat %s not edited: %s", message_id, chat_id, exc)


# ----------------------------------------------------------------------------- links into the private chat


class _GroupLink(filters.MessageFilter):
    """`/start` with a payload from a group's link; any other /start is onboarding's."""

    def filter(self, message: Message) -> bool:
        words = (message.text or "").split()
        return len(words) == 2 and parse_start_payload(words[1]) is not None


async def open_group_link(update: Update, context: CoachContext) -> None:
    """`/start g<enrollment>_<day>` (a member's advice) or `/start s<enrollment>` (a coach's summary)
    from a group."""
    await follow_link(update, context, parse_start_payload(context.args[0]))


async def follow_link(update: Update, context: CoachContext, link: StartLink) -> None:
    """What a group's link points to; then someone with no course of their own is invited to start
    one. Also where a new person's first /start with a link goes on once they picked a language."""
    services = context.services
    texts = services.content.texts
    await _open_link(update, context, link)
    if await services.course.begin_onboarding(update.effective_chat.id, display_name(update, texts.name_fallback)):
        await reply(update, texts.group_offer_course, profile_keyboard(texts))


async def _open_link(update: Update, context: CoachContext, link: StartLink) -> None:
    services = context.services
    enrollment, subscriber = await services.groups.run_on_screen(link.enrollment_id)
    if subscriber is None or subscriber.kind == ChatType.PRIVATE:
        await reply(update, services.content.texts.group_link_expired)
    elif link.kind == "g" and not await services.access.is_member(
        context.bot, subscriber.chat_id, update.effective_user.id
    ):
        await reply(update, services.content.texts.access_members_only)
    elif link.kind == "s":
        await _summary_link(update, context, subscriber)
    else:
        await _advice_link(update, context, enrollment, subscriber, link.day)


async def _summary_link(update: Update, context: CoachContext, subscriber: Subscriber) -> None:
    services = context.services
    if not await services.access.is_admin_of(context.bot, subscriber.chat_id, update.effective_user.id):
        await reply(update, services.content.texts.group_summary_admins_only)
        return
    coaching = services.groups
    await reply(
        update,
        await coaching.summary_text(context.bot, subscriber.chat_id),
        coach_page_keyboard(services.content.texts, coaching.mini_app_url, subscriber.chat_id),
    )


async def _advice_link(
    update: Update, context: CoachContext, enrollment: Enrollment, subscriber: Subscriber, day: int
) -> None:
    """The full advice for the member's answer that day; or the question still open for them."""
    services = context.services
    content, matcher, texts = services.content, services.matcher, services.content.texts
    entry = content.lesson(day).checkin if 1 <= day <= min(enrollment.current_day, content.days) else None
    if entry is None:
        await reply(update, texts.group_link_expired)
        return
    rows = await services.answers.history_of_run(enrollment.id, update.effective_user.id)
    answered = {row.node: row for row in rows if row.day == day}
    node_id = entry
    while node_id in answered:
        row = answered[node_id]
        if row.advice is not None:
            await reply(update, advice_text(content, matcher.advice[row.advice]))
            return
        following = step(matcher, node_id, row.option)
        if following is None or following.node is None:
            break
        node_id = following.node.id
    heading = texts.group_private_question.format(title=escape(subscriber.name), day=day)
    node = matcher.nodes[node_id]
    await reply(update, f"{heading}\n\n<b>{node.question}</b>", group_checkin_keyboard(enrollment.id, day, node))


# ----------------------------------------------------------------------------- the bot's own membership


def _present(chat_type: str, member: ChatMember) -> bool:
    """Can the bot post there? In a channel only as an admin; in a group as any member allowed to."""
    if chat_type == ChatType.CHANNEL:
        return member.status in (ChatMember.ADMINISTRATOR, ChatMember.OWNER)
    if member.status == ChatMember.RESTRICTED:
        return bool(member.is_member and member.can_send_messages)
    return member.status in PRESENT


async def membership(update: Update, context: CoachContext) -> None:
    """The bot added (a welcome, once), removed or demoted (deliveries stop), or blocked in private."""
    services = context.services
    change: ChatMemberUpdated = update.my_chat_member
    chat, old, new = change.chat, change.old_chat_member, change.new_chat_member
    if chat.type == ChatType.PRIVATE:
        if new.status == ChatMember.BANNED:
            await services.course.mark_unreachable(chat.id)
        elif old.status == ChatMember.BANNED:
            await services.course.mark_reachable(chat.id)
        return
    services.groups.forget_admins(chat.id)
    was_present, present = _present(chat.type, old), _present(chat.type, new)
    if present and not was_present:
        await services.course.joined(chat.id, chat.title or "", str(chat.type))
        if chat.type != ChatType.CHANNEL:  # a channel's readers need no word about the bot's set-up
            await send_html(context.bot, chat.id, services.content.texts.group_welcome)
    elif was_present and not present:
        log.info("removed from %s %s: deliveries there stop", chat.type, chat.id)
        await services.course.unreachable(chat.id)


async def migrated(update: Update, context: CoachContext) -> None:
    """A group became a supergroup: both chats announce it; whichever comes first moves the course."""
    message = update.effective_message
    if message.migrate_to_chat_id:
        old, new = message.chat.id, message.migrate_to_chat_id
    else:
        old, new = message.migrate_from_chat_id, message.chat.id
    await context.services.groups.move(old, new)


async def addressed_command(update: Update, context: CoachContext) -> None:
    """Any other command in a group is answered only when addressed to this bot by name: commands
    meant for other bots, or typed in passing, stay unanswered."""
    command = update.effective_message.text.split()[0]
    if command.lower().endswith(f"@{context.bot.username.lower()}"):
        await reply(update, context.services.content.texts.group_commands_here.format(bot=context.bot.username))


def register(application: Application) -> None:
    in_groups = filters.ChatType.GROUPS & filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("summary", summary_command, filters=in_groups))
    application.add_handler(
        MessageHandler(filters.UpdateType.CHANNEL_POST & filters.Regex(CHANNEL_SUMMARY), channel_summary)
    )
    application.add_handler(button_handler(GroupCheckinPress, pressed))
    application.add_handler(ChatMemberHandler(membership, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, migrated))
    application.add_handler(MessageHandler(in_groups & filters.COMMAND, addressed_command))


def register_links(application: Application) -> None:
    """`/start g…` and `/start s…` from a group: ahead of onboarding's /start."""
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("start", open_group_link, filters=private & _GroupLink()))
