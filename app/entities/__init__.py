"""Tamagitto."""
