"""What a page says about itself in machine-readable form: JSON-LD article objects and
`<meta>` tags. Publishers fill these for search engines, so they are the most reliable
source of dates, headline and article body when present.
"""

from __future__ import annotations

import json
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import unescape as html_unescape
from typing import Any

from lxml import etree
from lxml import html as lxml_html
from lxml.html import HtmlElement

_ARTICLE_TYPES = re.compile(r"(Article|BlogPosting|Report|LiveBlogPosting|NewsArticle)$", re.IGNORECASE)
_PUBLISHED_META = (
    "article:published_time", "og:article:published_time", "datepublished", "pubdate",
    "publishdate", "publish-date", "publish_date", "dc.date.issued", "dcterms.issued",
    "dc.date", "sailthru.date", "parsely-pub-date", "cxenseparse:recs:publishtime",
)  # fmt: skip
_MODIFIED_META = (
    "article:modified_time", "og:article:modified_time", "og:updated_time", "datemodified",
    "dcterms.modified", "last-modified",
)  # fmt: skip
_SECTION_META = ("article:section", "og:article:section", "section", "parsely-section")
_DATE_ELEMENTS = etree.XPath(
    "//body//*[contains(translate(@class, 'FECHADT', 'fechadt'), 'fecha') or contains(translate(@class, 'DATE', 'date'), 'date')"
    " or contains(translate(@class, 'PUBLICADO', 'publicado'), 'publica') or contains(translate(@id, 'FECHADT', 'fechadt'), 'fecha')"
    " or contains(translate(@id, 'DATE', 'date'), 'date') or self::time]"
)
_DATE_TEXT_MAX = 200
_AUTHOR_META = (
    "author", "article:author", "parsely-author", "sailthru.author", "dc.creator",
    "dcterms.creator", "byl", "cxenseparse:author",
)  # fmt: skip
_TAG_META = ("article:tag", "og:article:tag", "news_keywords", "parsely-tags")


@dataclass
class PageMeta:
    """The article-level facts declared by the page (empty strings/lists when absent)."""

    headline: str = ""
    description: str = ""
    article_body: str = ""
    published: str = ""
    published_source: str = ""  # "jsonld" or "meta"
    # the `<meta>` publication times besides `published` (pages declare several, not always equal)
    other_published: list[str] = field(default_factory=list)
    modified: str = ""
    authors: list[str] = field(default_factory=list)  # JSON-LD author names
    meta_authors: list[str] = field(default_factory=list)  # `<meta>` author values, as written
    section: str = ""
    tags: list[str] = field(default_factory=list)
    image: str = ""
    lang: str = ""


def read_page_meta(tree: HtmlElement, url: str = "") -> PageMeta:
    """Collects JSON-LD and `<meta>` facts; JSON-LD wins where both exist."""
    meta = PageMeta(lang=_html_lang(tree))
    article = _pick_article(list(_jsonld_objects(tree)), url)
    if article:
        meta.headline = _text(article.get("headline") or article.get("name"))
        meta.description = _text(article.get("description"))
        meta.article_body = _body_text(article.get("articleBody"))
        meta.published = _text(article.get("datePublished") or article.get("dateCreated"))
        meta.published_source = "jsonld" if meta.published else ""
        meta.modified = _text(article.get("dateModified"))
        meta.authors = _names(article.get("author"))
        meta.section = _first_text(article.get("articleSection"))
        meta.tags = _keywords(article.get("keywords"))
        meta.image = _url(article.get("image"))
    tags = _meta_values(tree)
    if not meta.published and (published := _first_meta(tags, _PUBLISHED_META)):
        meta.published, meta.published_source = published, "meta"
    meta.other_published = [v for key in _PUBLISHED_META for v in tags.get(key, []) if v != meta.published]
    meta.modified = meta.modified or _first_meta(tags, _MODIFIED_META)
    meta.meta_authors = [v for key in _AUTHOR_META for v in tags.get(key, [])]
    meta.section = meta.section or _first_meta(tags, _SECTION_META)
    meta.tags = meta.tags or [t for key in _TAG_META for v in tags.get(key, []) for t in _keywords(v)]
    return meta


def date_texts(tree: HtmlElement, limit: int = 5) -> list[str]:
    """Short texts of the elements a page uses to show its date (class or id naming a date)."""
    texts = []
    for element in _DATE_ELEMENTS(tree):
        text = " ".join(element.text_content().split())
        if 0 < len(text) <= _DATE_TEXT_MAX:
            texts.append(text)
            if len(texts) == limit:
                break
    return texts


def _html_lang(tree: HtmlElement) -> str:
    root = tree.getroottree().getroot()
    value = root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang") or ""
    return value.split("-")[0].strip().lower()


def _jsonld_objects(tree: HtmlElement) -> Iterator[dict[str, Any]]:
    """Every JSON object in the page's JSON-LD scripts, nested ones and @graph members too."""
    for script in tree.xpath('//script[contains(translate(@type, "LDJSON", "ldjson"), "ld+json")]'):
        raw = (script.text or "").strip().removeprefix("<!--").removesuffix("-->").strip().rstrip(";")
        try:
            data = json.loads(raw, strict=False)
        except ValueError:
            continue
        yield from _walk(data, depth=0)


def _walk(data: Any, depth: int) -> Iterator[dict[str, Any]]:
    if depth > 6:
        return
    if isinstance(data, list):
        for item in data:
            yield from _walk(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        for key in ("@graph", "mainEntity", "itemListElement"):
            if key in data:
                yield from _walk(data[key], depth + 1)


def _is_article(obj: dict[str, Any]) -> bool:
    types = obj.get("@type")
    types = types if isinstance(types, list) else [types]
    return any(isinstance(t, str) and _ARTICLE_TYPES.search(t) for t in types)


def _pick_article(objects: list[dict[str, Any]], url: str) -> dict[str, Any] | None:
    """The page's own article: the one naming this URL, else the first with a body, else the
    first article-typed object (pages also list related articles in JSON-LD)."""
    articles = [o for o in objects if _is_article(o)]
    if not articles:
        return None
    path = url.split("?")[0].rstrip("/").split("//")[-1]
    for obj in articles:
        own = _url(obj.get("url")) or _url(obj.get("mainEntityOfPage"))
        if path and own and own.split("?")[0].rstrip("/").split("//")[-1] == path:
            return obj
    return next((o for o in articles if o.get("articleBody")), articles[0])


def _text(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _first_text(value: Any) -> str:
    return _text(value[0] if isinstance(value, list) and value else value)


def _body_text(value: Any) -> str:
    """articleBody is sometimes HTML: reduce it to plain text, keeping line breaks."""
    if not isinstance(value, str) or not value.strip():
        return ""
    if "<" in value and ">" in value:
        try:
            fragment = lxml_html.fragment_fromstring(value, create_parent="div")
        except (ValueError, etree.ParserError):
            return value.strip()
        for block in fragment.iter("p", "br", "li", "h2", "h3", "h4", "div"):
            block.tail = "\n" + (block.tail or "")
        value = fragment.text_content()
    return "\n".join(line for raw in value.splitlines() if (line := " ".join(raw.split())))


def _names(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        name = _text(item.get("name")) if isinstance(item, dict) else _text(item)
        if name and name not in names:
            names.append(name)
    return names


def _keywords(value: Any) -> list[str]:
    items = value if isinstance(value, list) else str(value or "").split(",")
    return [k for item in items if isinstance(item, str) and (k := " ".join(item.split()))]


def _url(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, dict):
        value = value.get("url") or value.get("@id") or ""
    return value.strip() if isinstance(value, str) else ""


def _meta_values(tree: HtmlElement) -> dict[str, list[str]]:
    """`<meta>` contents by lower-cased property / name / itemprop."""
    found: dict[str, list[str]] = {}
    for element in tree.iter("meta"):
        key = element.get("property") or element.get("name") or element.get("itemprop") or ""
        content = element.get("content")
        if key and content and content.strip():
            found.setdefault(key.strip().lower(), []).append(content.strip())
    return found


def _first_meta(tags: dict[str, list[str]], keys: tuple[str, ...]) -> str:
    return next((tags[key][0] for key in keys if key in tags), "")


# -- what the reader sees: the headline, and the byline and date printed around it ----------

# Not read for bylines and dates: code and navigation; and photo captions, whose credits name
# agencies and photographers, not the article's authors.
_UNREAD = {"script", "style", "noscript", "template", "svg", "nav"}
_CAPTIONS = {"figure", "figcaption"}
# Readers' comments: a whole class token or id, not any class that mentions them.
_COMMENTS = re.compile(
    r"(?:^|\s)(?:comments?|comment-?list|comments?-area|comentarios|disqus_thread)(?:\s|$)",
    re.IGNORECASE,
)
_BYLINE_ATTR = re.compile(r"auth|autor|byline|firma|writt?er|createdby|s-aut\b", re.IGNORECASE)
_NOT_BYLINE_ATTR = re.compile(r"img|image|foto|photo|caption|thumb|avatar|picture", re.IGNORECASE)
_AUTHOR_HREF = re.compile(
    r"/(?:autor|autora|autores|author|authors|profile|perfil|periodistas?|columnistas?|firmas?)/",
    re.IGNORECASE,
)
_AGENCY_NAMES = """efe afp ap reuters dpa ansa xinhua sputnik notimex bloomberg ips anadolu télam
telam ep"""
AGENCIES = frozenset([*_AGENCY_NAMES.split(), "europa press", "associated press", "prensa latina"])
_NAME_PREFIX = re.compile(
    r"^(?:(?:escrito|publicado|redactado|texto|elaborado)\s+por|por|by|de|escribe|texto|"
    r"autor|autora|periodista(?:\s+digital)?|redacción\s+por)\b\s*:?\s*",
    re.IGNORECASE,
)
_NAME_CUT = re.compile(
    r"\s(?:\||·|•|-|–|—)\s|\s\d|\b(?:hace|publicado|actualizado|tiempo de lectura|seguir|"
    r"follow)\b|\S+@\S+|@\w+|https?://\S+",
    re.IGNORECASE,
)
_NAME_SPLIT = re.compile(r"\s*(?:/|,|;|&|\s+y\s+|\s+e\s+|\s+and\s+)\s*", re.IGNORECASE)
_NOT_NAME_TEXT = """twitter facebook whatsapp linkedin telegram instagram email correo compartir seguir
    suscríbete anónimo anonimo admin administrador cortesía staff publicación artículo lectura
    minutos horas nombre foto fotos video archivo más leer ver regístrate registrate
    inicia iniciar sesión suscribirse login menú buscar cerrar comentarios comentar escuchar
    guardar imprimir"""
_NOT_NAME_WORDS = frozenset(_NOT_NAME_TEXT.split())
_HEADER_LINES_AFTER = 80
_HEADER_LINES_BEFORE = 12
_LONG_LINE = 200
_DATE_LINES_BEFORE = 8  # some pages print the date just above the headline
# An agency's bare name counts as a byline this close to the headline.
_AGENCY_LINES = 15
_TEASER_DEPTH = 4
_LINKED_HEADINGS = ".//*[self::h2 or self::h3 or self::h4][.//a[@href]]"
# 'Redacción Diario X': the desk's credit, which may carry the site's name.
_DESK = re.compile(r"redacci[oó]n\b", re.IGNORECASE)
_CREDIT = re.compile(
    r"^(?:fotos?|fotografía|imagen|ilustración|video|vídeo|crédito)s?\b\s*:",
    re.IGNORECASE,
)


@dataclass
class PageHeader:
    """What a reader sees at the top of the article: the headline element's text, the names
    in the byline beside it, and the text around the headline where the date is printed."""

    headline: str = ""
    byline: list[str] = field(default_factory=list)
    text_after: str = ""  # from the headline to the start of the body
    text_before: str = ""  # the few lines just above the headline


@dataclass
class _Line:
    text: str
    element: HtmlElement  # the element the text is written in


def read_header(tree: HtmlElement, titles: list[str], site_names: list[str]) -> PageHeader:
    """Finds the headline element (a heading whose text is one of the page's declared
    titles, site name aside) and reads the byline and date printed around it."""
    headline = _headline_element(tree, titles)
    if headline is None:
        return PageHeader()
    page = _Reading(tree, headline)
    if headline not in page.starts:
        return PageHeader()
    first = page.starts[headline]
    window = [  # related articles' dates are not this one's
        line
        for index, line in enumerate(page.lines[first : first + _HEADER_LINES_AFTER], first)
        if not page.in_teaser(line.element, index)
    ]
    long_lines = [i for i, line in enumerate(window) if len(line.text) > _LONG_LINE]
    body_start = long_lines[1] if len(long_lines) > 1 else len(window)
    before = page.lines[max(0, first - _DATE_LINES_BEFORE) : first]
    return PageHeader(
        headline=" ".join(headline.text_content().split()),
        byline=_byline(page, site_names),
        text_after=" ".join(line.text for line in window[1 : body_start + 1]),
        text_before=" ".join(line.text for line in before),
    )


def is_site_name(name: str, site_names: list[str]) -> bool:
    """The outlet's own name (or its host) offered as an author: 'Www Diarioextra Com',
    'LA NACION', 'Noticias de El Salvador - La Prensa Gráfica | Informate con la verdad'."""
    key = _compact(name)
    if not key:
        return True
    return any(
        site and (key == site or (len(site) >= 4 and site in key) or (len(key) >= 4 and key in site))
        for site in map(_compact, site_names)
    )


def person_or_agency(name: str) -> bool:
    """Whether a byline fragment reads as a person's name, an agency or a newsroom desk
    ('Redacción', 'Redacción EC'), not a social link, a placeholder or a stray phrase."""
    words = name.split()
    if not 2 <= len(name) <= 60 or not 1 <= len(words) <= 6:
        return False
    if any(c.isdigit() for c in name) or any(ch in name for ch in '@/|:"“”«»?¿!¡'):
        return False
    if any(word.casefold().strip(".") in _NOT_NAME_WORDS for word in words):
        return False
    if not any(w[0].isupper() or (len(w) == 2 and w.endswith(".")) for w in words):
        return False  # a phrase, not a name: names carry a capital or an initial
    if len(words) == 1:
        # a bare 'Redacción' names no one; 'Redacción EC' names the desk
        return name.casefold() in AGENCIES or (
            name.isupper() and name.isalpha() and len(name) <= 12 and not _DESK.match(name)
        )
    return True


def clean_names(text: str, site_names: list[str]) -> list[str]:
    """The names in one byline text: 'Por Laura Jordán / Javier Urbina' → two names; the
    prefix, e-mail, handle, date or trailing label cut off; site names and non-names dropped."""
    text = " ".join(text.replace("\u00a0", " ").split())
    if _CREDIT.match(text):
        return []
    while (stripped := _NAME_PREFIX.sub("", text, count=1)) != text:
        text = stripped
    if cut := _NAME_CUT.search(text):
        text = text[: cut.start()]
    names = []
    for part in _NAME_SPLIT.split(text):
        name = _unbracketed(part.strip(" .,;:-–—\"'"))
        name = name + "." if part.rstrip().endswith(".") and _ends_with_initial(name) else name
        if person_or_agency(name) and (_DESK.match(name) or not is_site_name(name, site_names)) and name not in names:
            names.append(name)
    return names


def _unbracketed(text: str) -> str:
    """Brackets at the ends go unless they pair up: 'Agencia X (ACN)' keeps its own."""
    while text and text[-1] in ")]" and text.count("(") + text.count("[") < text.count(")") + text.count("]"):
        text = text[:-1].strip()
    while text and text[0] in "([" and text.count(")") + text.count("]") < text.count("(") + text.count("["):
        text = text[1:].strip()
    return text


def _ends_with_initial(name: str) -> bool:
    last = name.split()[-1] if name.split() else ""
    return len(last) == 1 and last.isalpha()


def _compact(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if c.isalnum() and not unicodedata.combining(c))
    return text.removeprefix("www")


class _Reading:
    """The page's visible text in reading order (one line per text node), where each element
    starts and ends in it, and where the headings linking to other articles are. Photo
    captions and readers' comments are left out, unless the headline itself sits in one
    (broken templates put it in a caption)."""

    def __init__(self, tree: HtmlElement, headline: HtmlElement) -> None:
        self.headline = headline
        self.around_headline = set(headline.iterancestors())
        self.lines: list[_Line] = []
        self.starts: dict[HtmlElement, int] = {}
        self.ends: dict[HtmlElement, int] = {}
        last = None  # the page is read up to this line: the header's window, no further
        walker = etree.iterwalk(tree, events=("start", "end"))
        for event, element in walker:
            if last is not None and len(self.lines) > last:
                break
            if not isinstance(element.tag, str):
                if event == "end":
                    self._add(element.tail, element.getparent())
                continue
            if event == "start":
                if self._unread(element):
                    walker.skip_subtree()
                    continue
                self.starts[element] = len(self.lines)
                if element is headline:
                    last = len(self.lines) + _HEADER_LINES_AFTER
                self._add(element.text, element)
            else:
                self.ends[element] = len(self.lines)
                if element is not tree:
                    self._add(element.tail, element.getparent())
        # the headings that link to other articles (teasers), in reading order
        linked = sorted(
            ((self.starts[h], h) for h in tree.xpath(_LINKED_HEADINGS) if h in self.starts and h is not headline),
            key=lambda item: item[0],
        )
        self.linked = [start for start, _ in linked]
        self.linked_headings = [heading for _, heading in linked]

    def _add(self, text: str | None, element: HtmlElement | None) -> None:
        if text and text.strip() and element is not None:
            self.lines.append(_Line(" ".join(text.split()), element))

    def _unread(self, element: HtmlElement) -> bool:
        if element.tag in _UNREAD:
            return True
        if element.tag in _CAPTIONS and element not in self.around_headline:
            return True
        return bool(_COMMENTS.search(f"{element.get('id', '')} {element.get('class', '')}"))

    def in_teaser(self, element: HtmlElement, position: int) -> bool:
        """Inside a teaser of another article: the element holds a linked heading (a card),
        or a close container that does not hold the headline has one before it."""
        start = self.starts.get(element, position)
        end = self.ends.get(element, position)
        lo, hi = bisect_left(self.linked, start), bisect_left(self.linked, end)
        if lo < hi:
            # the element itself, or a container opening with it, may be a linked heading
            own = {element}
            for ancestor in element.iterancestors():
                if self.starts.get(ancestor) != start:
                    break
                own.add(ancestor)
            if any(heading not in own for heading in self.linked_headings[lo:hi]):
                return True
        outer = None
        for depth, ancestor in enumerate(element.iterancestors()):
            if depth == _TEASER_DEPTH or ancestor in self.around_headline:
                break
            outer = ancestor
        if outer is None:
            return False
        before = bisect_left(self.linked, position) - 1
        return before >= 0 and self.linked[before] >= self.starts.get(outer, position)


def _headline_element(tree: HtmlElement, titles: list[str]) -> HtmlElement | None:
    """The heading whose text is one of the declared titles, or one part of one (titles
    carry the site's name: 'Título | Diario'); h1 first, then itemprop=headline, then h2."""
    keys = [key for title in titles if (key := _title_key(title))]
    if not keys:
        return None
    for xpath in ("//h1", "//*[@itemprop='headline']", "//h2"):
        for element in tree.xpath(xpath):
            text = _title_key(element.text_content())
            if len(text) >= 12 and any(text == key or text in key for key in keys):
                return element
    return None


def _title_key(text: str) -> str:
    text = html_unescape(" ".join(text.split())).translate(_QUOTES)
    return text.casefold().strip()


_QUOTES = str.maketrans({"“": '"', "”": '"', "«": '"', "»": '"', "‘": "'", "’": "'"})


def _byline(page: _Reading, site_names: list[str]) -> list[str]:
    """The names in the byline nearest the headline: an element marked as the author's
    (class, id, itemprop or rel), a link to an author page, or a line that is just an
    agency's name; after the headline first, then just above it. Bylines in teasers of
    other articles and photo credits ('Foto:' before the name) are not this article's."""
    first, lines = page.starts[page.headline], page.lines
    candidates: list[tuple[int, list[str]]] = []
    for element, start in page.starts.items():
        if (
            first - _HEADER_LINES_BEFORE <= start < first + _HEADER_LINES_AFTER
            and _is_byline_element(element)
            and not (start and _CREDIT.match(lines[start - 1].text))
            and not page.in_teaser(element, start)
            and (names := _element_names(element, site_names))
        ):
            candidates.append((start, names))
    for index in range(max(0, first - _HEADER_LINES_BEFORE), min(len(lines), first + _AGENCY_LINES)):
        text = _NAME_PREFIX.sub("", lines[index].text).strip(" .:-()")
        if (
            len(text) <= 30
            and text.casefold().removeprefix("agencia ") in AGENCIES
            and not page.in_teaser(lines[index].element, index)
        ):
            candidates.append((index, [text]))
    # Outer elements come first at equal positions: a byline's container holds all its names.
    after = sorted((c for c in candidates if c[0] >= first), key=lambda c: c[0])
    before = sorted((c for c in candidates if c[0] < first), key=lambda c: c[0])
    best = after[0] if after else (before[-1] if before else None)
    return best[1] if best else []


def _is_byline_element(element: HtmlElement) -> bool:
    if element.tag == "a" and _AUTHOR_HREF.search(element.get("href") or ""):
        return True
    marks = " ".join(element.get(name) or "" for name in ("class", "id", "itemprop", "rel"))
    return bool(_BYLINE_ATTR.search(marks)) and not _NOT_BYLINE_ATTR.search(marks)


def _element_names(element: HtmlElement, site_names: list[str]) -> list[str]:
    """Names inside a byline element: its parts marked as names, else its links, else its
    whole text. A photo credit ('Foto: …') is none."""
    if _CREDIT.match(" ".join(element.text_content().split())):
        return []
    named = [
        e
        for e in element.iter()
        if e is not element
        and isinstance(e.tag, str)
        and (e.get("itemprop") == "name" or "name" in (e.get("class") or "").lower())
    ]
    if element.tag == "a" and element.getparent() is not None:
        # one author link among its siblings: the byline is all of them
        element = element.getparent()
        return [
            n
            for a in element.iter("a")
            if _AUTHOR_HREF.search(a.get("href") or "")
            for n in clean_names(a.text_content(), site_names)
        ]
    links = [e for e in element.iter("a") if e is not element]
    for group in (named, links, [element]):
        names = [n for e in group for n in clean_names(e.text_content(), site_names)]
        if names:
            return list(dict.fromkeys(names))
    return []
