"""Article extraction: one fetched page → one `Article` (text, metadata, dates, language).

Built on trafilatura for the body and metadata, with what news pages add on top: the page's
JSON-LD (`articleBody`, `datePublished`), removal of Spanish in-text boilerplate, a strict
date priority with plausibility checks, and per-outlet body hints from the source registry.

    article = extract(html_bytes, url, ExtractHints(source="elfaro", feed_date=...))

Any input either gives an `Article` or raises `NoArticle` with a human reason; no other
exception leaves `extract()`, so one odd page never stops a crawl.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from html import unescape as html_unescape
from typing import Any
from urllib.parse import urljoin, urlsplit

from htmldate import find_date
from lxml.html import HtmlElement
from trafilatura.metadata import examine_meta, extract_title, extract_url
from trafilatura.utils import decode_file, handle_compressed_file, load_html

from vigia.errors import NoArticle
from vigia.extract.body import body_paragraphs
from vigia.extract.dates import (
    as_aware,
    byline_date,
    date_from_url,
    first_plausible,
    page_zone,
    parse_datetime,
    plausible,
    presented_modified,
    shown_clock,
    spanish_date,
)
from vigia.extract.metadata import (
    PageHeader,
    PageMeta,
    clean_names,
    date_texts,
    is_site_name,
    read_header,
    read_page_meta,
)
from vigia.models import Article

LOGGER = logging.getLogger(__name__)

_BINARY_MAGIC = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"PK\x03\x04": "a ZIP archive",
    b"RIFF": "a RIFF media file",
    b"\x00\x00\x01\x00": "an icon",
}
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")
# More control characters than this share of the text: not an HTML page.
_MAX_CONTROL_SHARE = 0.02
_RECORD_FIELDS = (
    "url", "canonical_url", "title", "lead", "text", "authors", "published_at", "modified_at",
    "date_source", "title_source", "author_source", "language", "section", "tags", "image", "word_count",
)  # fmt: skip
_MIN_ARTICLE_WORDS = 15
_CONTAINER_TAGS = re.compile(
    r"</?(?:div|span|section|article|main|aside|header|footer|font|center|table|tbody|tr|td)\b[^>]*>",
    re.IGNORECASE,
)
_DECLARED_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
_WINDOWS_1252_LABELS = {
    "",
    "iso-8859-1",
    "iso8859-1",
    "latin1",
    "latin-1",
    "us-ascii",
    "ascii",
    "windows-1252",
    "cp1252",
}
_MIN_LANGID_WORDS = 8
# Plenty to tell languages apart; langid's cost grows with the length of the text.
_LANGID_CHARS = 600


@dataclass
class ExtractHints:
    """What the crawler knows about a page before reading it (registry and feed)."""

    source: str = ""
    source_name: str = ""
    section: str | None = None
    feed_date: datetime | None = None  # date from a feed or sitemap entry
    feed_title: str | None = None
    body_xpath: str | None = None  # registry outlets only: where the article body is
    keywords: list[str] = field(default_factory=list)


def extract(html: str | bytes, url: str, hints: ExtractHints | None = None) -> Article:
    """Extract one article from a page's HTML (bytes are decoded, gzip is unpacked).

    `published_at` comes from the first plausible source, named in `date_source`: "jsonld"
    (datePublished), "meta" (article:published_time and kin), "byline" (the date written
    beside the headline or byline), "htmldate" (its extensive search), "page" (a written
    Spanish date in the page's date element), "feed"
    (`hints.feed_date`), "url" (a date in the URL path); dates before 1990 or more than a
    day ahead are skipped. A page that presents its dateModified as its date (the date
    printed beside the byline, or another declared publication time, is that one) is dated
    then, as readers see it. Times without a zone are the page's country's local time (by its
    domain: `.bo` → La Paz), else El Salvador time. `title_source` and `author_source` say
    where the title ("headline", "jsonld", "meta", "feed", "html") and the authors ("byline",
    "jsonld", "meta") came from.

    Raises `NoArticle` when the page is empty, binary, unparseable or has no article text.
    """
    hints = hints or ExtractHints()
    try:
        text = decode_page(html)
        tree = parse_html(text)
        try:
            return _build_article(tree, url, hints)
        except NoArticle:
            if not _lost_paragraphs(text, tree):
                raise
            # libxml2 drops what lies deeper than its nesting limit: retry without the layout
            # containers, which carry no text of their own.
            return _build_article(parse_html(_CONTAINER_TAGS.sub(" ", text)), url, hints)
    except NoArticle:
        raise
    except Exception as exc:  # library failures on pathological pages (RecursionError included)
        LOGGER.warning("extraction failed for %s: %r", url, exc)
        raise NoArticle(f"the page could not be processed ({type(exc).__name__}: {exc})") from exc


def extraction_record(article: Article) -> dict[str, Any]:
    """The extracted fields as JSON values (datetimes in ISO 8601): what `vigia extract` prints."""
    doc = article.to_doc()
    return {name: doc[name] or None if name == "url" else doc[name] for name in _RECORD_FIELDS}


def decode_page(html: str | bytes) -> str:
    """The page as text (encoding guessed, gzip unpacked); `NoArticle` for empty, binary or
    non-HTML content."""
    if isinstance(html, bytes):
        if not html.strip():
            raise NoArticle("empty page: the response has no content")
        for magic, kind in _BINARY_MAGIC.items():
            if html.startswith(magic):
                raise NoArticle(f"not an HTML page: the content is {kind}")
        html = _decode_bytes(html)
    if not html or not html.strip():
        raise NoArticle("empty page: the response has no content")
    sample = html[:20000]
    if len(_CONTROL_CHARS.findall(sample)) > _MAX_CONTROL_SHARE * len(sample):
        raise NoArticle("not an HTML page: the content is binary data")
    if "<" not in sample:
        raise NoArticle("not an HTML page: no markup found")
    return html


def _decode_bytes(data: bytes) -> str:
    """UTF-8 when the bytes are UTF-8, whatever the page declares; else the declared legacy
    charset; else Windows-1252, which is what a Spanish page that is not UTF-8 almost always is
    (pages declaring UTF-8 but saved in Windows-1252 are common). Statistical guesses come last:
    on short Spanish texts they pick look-alike code pages ("nińo" in Windows-1250)."""
    data = handle_compressed_file(data)  # bounded by trafilatura's MAX_FILE_SIZE
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _DECLARED_CHARSET.search(data[:4096])
    charset = declared[1].decode("ascii").lower() if declared else ""
    # As browsers do (WHATWG Encoding): latin-1 and ascii labels mean Windows-1252.
    candidates = [] if charset in _WINDOWS_1252_LABELS or charset.startswith("utf") else [charset]
    for encoding in [*candidates, "cp1252"]:
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return decode_file(data)


def parse_html(html: str) -> HtmlElement:
    tree = load_html(html)
    if tree is None:
        raise NoArticle("the HTML could not be parsed")
    return tree


def _lost_paragraphs(html: str, tree: HtmlElement) -> bool:
    """The parser kept far fewer paragraphs than the markup holds (nesting beyond its limit)."""
    return html.count("<p") > 2 * len(tree.xpath("//p")) + 2


def _build_article(tree: HtmlElement, url: str, hints: ExtractHints) -> Article:
    meta = read_page_meta(tree, url)
    # trafilatura's `<meta>` reading (its full metadata pass costs as much again as the body).
    doc = examine_meta(tree)
    site_names = _site_names(tree, url, doc.sitename, doc.url)
    declared_titles = [
        (meta.headline, "jsonld"),
        (doc.title or "", "meta"),
        (hints.feed_title or "", "feed"),
        (tree.findtext(".//title") or extract_title(tree) or "", "html"),
    ]
    header = read_header(tree, [t for t, _ in declared_titles], site_names)
    title, title_source = _title(header, declared_titles, site_names)
    paragraphs = body_paragraphs(
        tree,
        url,
        # The body rules take the declared title, as before: the visible headline may be a
        # line the page repeats in the body, and the body's boundaries stay as they were.
        title=meta.headline
        or (doc.title or "").strip()
        or (hints.feed_title or "").strip()
        or extract_title(tree)
        or "",
        lead=meta.description or doc.description or "",
        jsonld_body=meta.article_body,
        body_xpath=hints.body_xpath,
    )
    if not paragraphs:
        raise NoArticle("no article text found (a listing, a paywall or a page built by scripts)")
    if (words := sum(len(p.split()) for p in paragraphs)) < _MIN_ARTICLE_WORDS:
        raise NoArticle(f"too little text for an article ({words} words): a listing or an empty template")
    now = datetime.now(UTC)
    declared_url = extract_url(tree) or doc.url
    # the address the page gives itself names its country when the fetched one is unknown
    zone = page_zone(url or declared_url or "")
    shown, shown_as_update = byline_date(header.text_after, header.text_before, zone) or (None, False)
    published, date_source = first_plausible(
        [
            (meta.published_source or "jsonld", lambda: parse_datetime(meta.published, zone)),
            ("byline", lambda: shown),
            ("htmldate", lambda: _htmldate(tree, now, zone)),
            (
                "page",
                lambda: next(filter(None, (spanish_date(text, zone) for text in date_texts(tree))), None),
            ),
            ("feed", lambda: as_aware(hints.feed_date, zone) if hints.feed_date else None),
            ("url", lambda: date_from_url(url, zone)),
        ],
        now,
    )
    modified = parse_datetime(meta.modified, zone)
    if published and date_source in ("jsonld", "meta"):
        published = shown_clock(published, shown, zone)
        stamps = [("byline", None if shown_as_update else shown)]
        stamps += [("meta", parse_datetime(value, zone)) for value in meta.other_published]
        if presented := presented_modified(published, modified, stamps):
            published, date_source = presented
    authors, author_source = _authors(header, meta, site_names)
    if not plausible(modified, now) or (published and modified and modified < published):
        modified = None
    text = "\n".join(paragraphs)
    article = Article(
        url=url,
        source=hints.source,
        source_name=hints.source_name or (doc.sitename or ""),
        canonical_url=_canonical(declared_url, url),
        section=hints.section or meta.section or None,
        title=title,
        lead=(meta.description or doc.description or "").strip() or paragraphs[0],
        text=text,
        authors=authors,
        tags=_unique(meta.tags or list(doc.tags or []), hints.keywords),
        image=_absolute(meta.image or doc.image, url),
        published_at=published,
        modified_at=modified,
        date_source=date_source,
        title_source=title_source,
        author_source=author_source,
        language=detect_language(f"{title}\n{text}", fallback=meta.lang),
    )
    return article.finalize()


def _site_names(tree: HtmlElement, url: str, *declared: str | None) -> list[str]:
    """What the outlet calls itself (og:site_name, application-name) and its host name:
    never an author, and cut from titles."""
    names = [d for d in declared[:1] if d]
    names += tree.xpath("//meta[@name='application-name' or @property='og:site_name']/@content")
    for link in (url, *declared[1:]):
        host = (urlsplit(link or "").hostname or "").removeprefix("www.").removeprefix("m.")
        if host:  # 'diario.elmundo.sv' → also 'elmundo', its longest label
            names += [host, max(host.split("."), key=len)]
    return list(dict.fromkeys(n.strip() for n in names if n and n.strip()))


_TITLE_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|::|»)\s+")


def _title(header: PageHeader, declared: list[tuple[str, str]], site_names: list[str]) -> tuple[str, str | None]:
    """The headline as the page shows it: the heading element that matches a declared title;
    else the first declared title (JSON-LD, `<meta>`, feed, `<title>`) with the site's name
    cut off and, if another declared title continues it (cut at a quote), that one."""
    if header.headline:
        return header.headline, "headline"
    titles = [(t, source) for raw, source in declared if (t := _without_site(raw, site_names))]
    if not titles:
        return "", None
    title, source = titles[0]
    longer = [t for t, _ in titles if len(t) > len(title) and t.startswith(title)]
    return (longer[0] if longer else title), source


def _without_site(title: str, site_names: list[str]) -> str:
    """'Diario HOY | Darán bendición…' → 'Darán bendición…'; a first or last part that is
    the site's name goes, the rest stays whole."""
    parts = _TITLE_SEPARATORS.split(html_unescape(" ".join(title.split())))
    while len(parts) > 1 and is_site_name(parts[-1], site_names):
        parts.pop()
    while len(parts) > 1 and is_site_name(parts[0], site_names):
        parts.pop(0)
    return " - ".join(parts) if len(parts) > 1 else (parts[0] if parts else "")


def _authors(header: PageHeader, meta: PageMeta, site_names: list[str]) -> tuple[list[str], str | None]:
    """The byline printed beside the headline wins over the declared authors: it is the
    credit readers see, while metadata often names a CMS account ('edilson.la.rosa'), the
    uploading editor or the outlet. Declared names stand in when the page prints none; site
    names and non-names are dropped from both."""
    if header.byline:
        return header.byline, "byline"
    meta_authors = [name for value in meta.meta_authors for name in _split_authors(value)]
    for source, raw in (("jsonld", meta.authors), ("meta", meta_authors)):
        names = [
            n for a in map(html_unescape, raw) if not is_site_name(a, site_names) for n in clean_names(a, site_names)
        ]
        if names:
            return list(dict.fromkeys(names)), source
    return [], None


def _htmldate(tree: HtmlElement, now: datetime, zone: tzinfo) -> datetime | None:
    """htmldate's extensive search, without the URL (URL dates come last in our priority)."""
    found = find_date(
        tree,
        url="",
        extensive_search=True,
        original_date=True,
        outputformat="%Y-%m-%dT%H:%M:%S%z",
        min_date="1990-01-01",
        max_date=now.strftime("%Y-%m-%d"),
    )
    return parse_datetime(found, zone) if found else None


@lru_cache(maxsize=1)
def _language_identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str, fallback: str = "") -> str | None:
    """ISO 639-1 code of the text's language (py3langid); the page's declared language when
    the text is too short to tell."""
    sample = text[:_LANGID_CHARS]
    if len(sample.split()) < _MIN_LANGID_WORDS:
        return fallback or None
    lang, probability = _language_identifier().classify(sample)
    return lang if probability >= 0.5 or not fallback else fallback


def _canonical(found: str | None, url: str) -> str | None:
    """The page's canonical URL, if it stays on the page's own site: the canonical URL is the
    document's identity, so a page must not be able to claim another site's article."""
    absolute = _absolute(found, url)
    if not absolute or urlsplit(absolute).scheme not in ("http", "https"):
        return None
    return absolute if _site(absolute) == _site(url) else None


def _site(url: str) -> str:
    return (urlsplit(url).hostname or "").removeprefix("www.").removeprefix("m.")


def _absolute(link: str | None, base: str) -> str | None:
    return urljoin(base, link.strip()) if link and link.strip() else None


def _split_authors(value: str | None) -> list[str]:
    return [name for part in re.split(r";|\s+y\s+|\s+and\s+", value or "") if (name := part.strip())]


def _unique(*lists: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for item in (i for lst in lists for i in lst):
        seen.setdefault(item.casefold(), item)
    return list(seen.values())
