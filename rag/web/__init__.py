"""Reading from the web: the one fetcher (``fetch``), feeds and syncing them into the index."""
