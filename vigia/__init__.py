"""Vigía: news monitoring of violence in El Salvador."""

__version__ = "0.1.0"
