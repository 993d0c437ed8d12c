"""What a caller may see.

The newsroom (`write` and `admin` keys) sees everything that is live. Everyone else,
anonymous callers and `read` keys alike, sees published content only: organizations
and people; documents and statements whose visibility is `public`; relations whose two
ends are published; assessments past the draft on a published subject. Everything
else answers 404 to them, and never counts in what they are shown (verification
counts included). The rules are SQL conditions, so lists, records, search, history and
counts apply exactly the same ones.
"""

from __future__ import annotations


def published_subject(id_sql: str) -> str:
    """A condition: the statement or document with id `id_sql` is live and public."""
    return f"""(EXISTS (SELECT 1 FROM statements vs WHERE vs.id = {id_sql}
                    AND vs.deleted_at IS NULL AND vs.visibility = 'public')
             OR EXISTS (SELECT 1 FROM documents vd WHERE vd.id = {id_sql}
                    AND vd.deleted_at IS NULL AND vd.visibility = 'public'))"""


PUBLISHED_STATEMENT = "s.visibility = 'public'"
PUBLISHED_DOCUMENT = "d.visibility = 'public'"
PUBLISHED_RELATION = f"({published_subject('r.source_id')} AND {published_subject('r.target_id')})"
PUBLISHED_ASSESSMENT = f"(a.state <> 'draft' AND {published_subject('a.subject_id')})"
