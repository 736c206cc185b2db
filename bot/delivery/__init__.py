"""Getting lessons out: the scheduler tick, claiming due rows, sending, handling Telegram faults."""
