"""Extraction: one page's HTML → an :class:`~vigia.models.Article` (body, boilerplate removal,
page metadata, dates, language). Pure functions of the page: no engine, no crawler."""

from vigia.extract.article import ExtractHints, extract, extraction_record

__all__ = ["ExtractHints", "extract", "extraction_record"]
