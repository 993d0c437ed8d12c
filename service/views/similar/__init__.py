"""Statements that say nearly the same thing as one statement: repeats of a claim."""
