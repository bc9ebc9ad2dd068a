"""Commit analysis: sources, per-family metrics, scoring, the optional review and replay."""
