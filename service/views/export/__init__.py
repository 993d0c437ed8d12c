"""The export: every live published resource as NDJSON, streamed from the database."""
