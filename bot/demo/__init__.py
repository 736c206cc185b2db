"""`coach demo`: the real bot in a terminal, against an in-process Telegram."""
