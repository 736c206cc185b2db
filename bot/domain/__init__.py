"""The pure core: course scheduling, parsing, check-in and cue logic. No Telegram, no database."""
