"""Badges: the verdict of a published statement or document as an SVG image and as a
shields.io endpoint badge, for other people's pages.

Public content, read with the public audience whoever asks (see `views/published/service.py`).
Badges are the hot path and are served from an in-process cache that PostgreSQL
LISTEN/NOTIFY keeps exact (see `cache.py`).
"""
