"""Commit analysis, pure: sources, metric families, scoring, the optional review, replay's lanes."""
