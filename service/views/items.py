"""Statements and documents as records and search results show them: each says what it
is (`type`), and a statement embeds the person who said it.

Shared by the views that list mixed statements and documents (records, search); the
resources' own representations stay in their folders, which know nothing of these.
"""

from __future__ import annotations

from service.domain.documents.repository import document_json
from service.domain.documents.schemas import Document
from service.domain.people.repository import PERSON_JSON
from service.domain.people.schemas import Person
from service.domain.statements.repository import statement_json
from service.domain.statements.schemas import Statement


class StatementItem(Statement, tag_field="type", tag="statement", kw_only=True):
    """A statement in a record or a search result, with the person who said it."""

    speaker: Person | None


class DocumentItem(Document, tag_field="type", tag="document", kw_only=True):
    """A document in a record or a search result."""


# ---- SQL ------------------------------------------------------------------------------

_STATEMENT = f"'type', 'statement', 'speaker', (SELECT {PERSON_JSON} FROM people p WHERE p.id = s.speaker_id),"
STATEMENT_ITEM_JSON = statement_json(_STATEMENT)
PUBLIC_STATEMENT_ITEM_JSON = statement_json(_STATEMENT, public=True)

_DOCUMENT = "'type', 'document',"
DOCUMENT_ITEM_JSON = document_json(_DOCUMENT)
PUBLIC_DOCUMENT_ITEM_JSON = document_json(_DOCUMENT, public=True)
