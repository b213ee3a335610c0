"""Scores against a synthetic dataset's ``truth.json``: attributions, representations and
hypothesis verdicts."""
