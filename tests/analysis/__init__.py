"""Tests of the commit analysis engine."""
