"""oEmbed 1.0: the embed code of a card, for a CMS given a statement's or document's URL."""
