"""The Scrapy project: registry-driven spiders, middlewares, pipelines and the test web."""
