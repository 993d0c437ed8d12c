"""ClaimReview import.

- `claimreview_imports`: one row per imported review URL, naming the draft assessment
  and the statement it made or matched. Its primary key is what makes a re-import a
  no-op, whatever the code above it does: a review URL is imported once.
- Indexes for the import's find-or-create, which looks up a batch of names and URLs at
  once: live organizations by URL (compared without case or a trailing slash) and by
  name, live people by name and by `same_as`.
- `statements_claim_key`: the same claim by the same speaker, whatever its case, is
  found by index. It is an md5 and lower() per row written, nothing dearer: a trigram
  index on the quote (or a regular expression in the key) doubled the cost of a bulk
  insert of statements, and similar statements are found through the full-text index.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

UPGRADE = [
    """CREATE TABLE claimreview_imports (
        review_url text PRIMARY KEY CHECK (review_url ~* '^https?://'),
        assessment_id uuid NOT NULL REFERENCES assessments (id),
        statement_id uuid NOT NULL REFERENCES statements (id),
        imported_at timestamptz NOT NULL DEFAULT now()
    )""",
    "CREATE INDEX claimreview_imports_assessment ON claimreview_imports (assessment_id)",
    """CREATE INDEX organizations_url_key ON organizations (rtrim(lower(url), '/'))
        WHERE deleted_at IS NULL AND url IS NOT NULL""",
    "CREATE INDEX organizations_name_key ON organizations (lower(name)) WHERE deleted_at IS NULL",
    "CREATE INDEX people_name_key ON people (lower(name)) WHERE deleted_at IS NULL",
    "CREATE INDEX people_same_as ON people USING gin (same_as) WHERE deleted_at IS NULL",
    # The import's key of a claim: its speaker and its text without case, digested (a
    # quote may be longer than a btree entry can be) into one expression, so that no plan
    # prefers the speaker's own index and walks all their statements.
    """CREATE INDEX statements_claim_key ON statements (md5(speaker_id::text || '|' || lower(text)))
        WHERE deleted_at IS NULL""",
]

DOWNGRADE = [
    "DROP INDEX statements_claim_key",
    "DROP INDEX people_same_as",
    "DROP INDEX people_name_key",
    "DROP INDEX organizations_name_key",
    "DROP INDEX organizations_url_key",
    "DROP TABLE claimreview_imports",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
