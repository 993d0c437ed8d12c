"""Distribution: how verification leaves the service for other people's pages.

Badges (SVG and shields.io JSON), the embeddable HTML card and its oEmbed discovery,
and schema.org ClaimReview for search engines. All of it is public content: it is
read with the public audience whoever asks, so an internal leak or a draft never
shows, not even to a newsroom key. Badges are the hot path and are served from an
in-process cache that PostgreSQL LISTEN/NOTIFY keeps exact (see `cache.py`).
"""
