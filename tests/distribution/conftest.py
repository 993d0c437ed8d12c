"""Fixtures of the distribution tests."""

from tests.distribution.python_client import generated

__all__ = ["generated"]
