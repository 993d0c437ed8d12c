"""ClaimReview import: other fact-checkers' verdicts as draft assessments of ours."""
