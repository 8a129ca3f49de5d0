"""The stages after fetching: extract → story clusters → classify → index, run on threads so
that they overlap. Never imports Scrapy: the crawler hands pages over as
:class:`~vigia.models.FetchedPage` records."""

from vigia.pipeline.stages import ArticlePipeline, Extracted, StagedRunner
from vigia.pipeline.stories import StoryClusterer

__all__ = ["ArticlePipeline", "Extracted", "StagedRunner", "StoryClusterer"]
