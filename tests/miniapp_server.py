"""The bot as the Mini App's tests run it: polling the fake Bot API, its Mini App served on a free
port of 127.0.0.1, over the seeded database of tests/miniapp_seed.py, with the clock on day 3."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.demo.fake_telegram import FakeBotApi
from bot.web import WebServer
from tests.conftest import TOKEN, FakeClock, RunningBot, make_settings
from tests.miniapp_seed import COACH, DAY, GROUP, MEMBERS, OPERATOR, START, init_data, seed

NOW = START + 2 * DAY + timedelta(hours=6)  # day 3, after its lesson; day 4 is due tomorrow


@dataclass
class Served:
    bot: RunningBot
    server: WebServer
    url: str  # the Mini App's root, ending in "/"

    def signed(self, user_id: int, name: str = "Someone", **kwargs) -> str:
        return init_data(user_id, name, TOKEN, at=self.bot.clock.now() - timedelta(minutes=1), **kwargs)

    async def stop(self) -> None:
        await self.server.stop()
        await self.bot.stop()


async def serve_mini_app(telegram: FakeBotApi, database_url: str, clock: FakeClock) -> Served:
    settings = make_settings(
        telegram, database_url, mini_app_url="http://127.0.0.1/app", admin_ids=[OPERATOR], delivery_tick_seconds=5
    )
    clock.set(NOW)
    telegram.add_chat(GROUP, "supergroup", "Tuesday Runners")
    telegram.set_admins(GROUP, [telegram.user(COACH, "Coach Kim")])
    for user, name in MEMBERS.items():
        telegram.user(user, name)
    bot = RunningBot(settings, clock)
    app = await bot.start()
    await seed(app.services.db)
    server = WebServer(app, listen="127.0.0.1", port=0, mini_app_path=settings.mini_app_path)
    port = server.start()
    return Served(bot, server, f"http://127.0.0.1:{port}/app/")
