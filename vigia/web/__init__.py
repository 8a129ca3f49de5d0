"""`vigia serve`: the web page for monitors and researchers (server-rendered, read-only).

Every page is a GET whose query string is a :class:`~vigia.search.query.Query`, so every view
is a shareable link. Crawled text is hostile input: templates autoescape everything, highlights
arrive as plain-text pieces, feeds are built with an XML library and CSV cells are guarded.
"""

from vigia.web.app import create_app

__all__ = ["create_app"]
