"""Replaying committed cassettes as tests."""
