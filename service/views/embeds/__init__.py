"""Embeds: the self-contained HTML card of a published statement or document."""
