"""Assessments: the newsroom's verdicts on statements and documents, with their
evidence and the workflow draft -> published -> superseded | retracted."""
