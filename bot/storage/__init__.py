"""Tables, the async database handle and the queries the bot needs."""
