"""The Mini App: pages inside Telegram for the learner, the group's coach and the operators,
served by the bot's own HTTP server and signed by Telegram (bot/miniapp/init_data.py)."""
