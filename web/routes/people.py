"""Placeholder until written."""

routes: list = []
