"""The change feed: every event of the log in commit order, for partners to sync from."""
