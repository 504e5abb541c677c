"""Articles from the web: the one fetcher, feeds, stored pages and sync."""
