"""The article body of a parsed page, as clean paragraphs.

trafilatura in precision mode finds the body; around it, what news pages need:
- a recall retry when precision mode keeps almost nothing (a paywall notice, a short brief);
- continuation containers: bodies split by ads into sibling blocks of the same class, of
  which trafilatura keeps only the first;
- the page's JSON-LD `articleBody` when the visible extraction missed most of it;
- removal of the headline repeated as first paragraph and of in-text boilerplate.
"""

from __future__ import annotations

import logging
import re
from copy import deepcopy

import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from vigia.extract.boilerplate import strip_boilerplate

LOGGER = logging.getLogger(__name__)
# trafilatura warns about every page it finds too short; the caller reports NoArticle itself.
logging.getLogger("trafilatura").setLevel(logging.ERROR)

_RETRY_BELOW_WORDS = 80  # precision mode kept less than this: try recall mode too
_MIN_PROSE_WORDS = 15  # a continuation block must hold at least one real paragraph
_JSONLD_MIN_WORDS = 40
_WORD = re.compile(r"\w+")


def body_paragraphs(
    tree: HtmlElement,
    url: str,
    *,
    title: str = "",
    lead: str = "",
    jsonld_body: str = "",
    body_xpath: str | None = None,
) -> list[str]:
    """Paragraphs of the article body, boilerplate removed; [] when the page has none."""
    region = _hinted_region(tree, body_xpath) if body_xpath else None
    source = region if region is not None else tree
    paragraphs = _trafilatura_paragraphs(source, url, favor_precision=True, fast=True)
    if _words(paragraphs) < _RETRY_BELOW_WORDS:
        recall = _trafilatura_paragraphs(source, url, favor_precision=False, fast=False)
        if _words(recall) > _words(paragraphs):
            paragraphs = recall
    if paragraphs and region is None:
        paragraphs += _continuations(tree, paragraphs)
    paragraphs = _prefer_jsonld(paragraphs, jsonld_body)
    return strip_boilerplate(_drop_repeated_head(paragraphs, title, lead))


def _trafilatura_paragraphs(source: HtmlElement, url: str, *, favor_precision: bool, fast: bool) -> list[str]:
    """trafilatura's body; `fast` skips its comparison with readability and jusText."""
    doc = trafilatura.bare_extraction(
        source,
        url=url,
        with_metadata=False,
        include_comments=False,
        favor_precision=favor_precision,
        fast=fast,
    )
    text = doc.text if doc is not None and doc.text else ""
    return _lines(text)


def _lines(text: str) -> list[str]:
    return [line for raw in text.split("\n") if (line := " ".join(raw.split()))]


def _words(paragraphs: list[str]) -> int:
    return sum(len(p.split()) for p in paragraphs)


def _normalized(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


def _hinted_region(tree: HtmlElement, xpath: str) -> HtmlElement | None:
    """The registry's body element(s), wrapped as a page; None when the hint no longer matches."""
    try:
        nodes = [n for n in tree.xpath(xpath) if isinstance(n, HtmlElement)]
    except etree.XPathError as exc:
        LOGGER.warning("body_xpath %r is not a valid XPath (%s): ignored", xpath, exc)
        return None
    if not nodes:
        LOGGER.info("body_xpath %r matches nothing on this page: extracting without it", xpath)
        return None
    page = load_html("<html><body><article></article></body></html>")
    container = page.find(".//article")
    for node in nodes:
        container.append(deepcopy(node))
    return page


def _continuations(tree: HtmlElement, paragraphs: list[str]) -> list[str]:
    """Paragraphs from later blocks of the same tag and class as the block holding the last
    extracted paragraph (bodies cut into pieces by ads or embeds)."""
    block = _block_of(tree, paragraphs[-1])
    if block is None or not (css_class := block.get("class")):
        return []
    siblings = tree.xpath(f"//{block.tag}[@class=$css]", css=css_class)
    if len(siblings) < 2:
        return []
    seen = {_normalized(p) for p in paragraphs}
    extra: list[str] = []
    for sibling in siblings[siblings.index(block) + 1 :]:
        texts = [t for p in sibling.iter("p") if (t := " ".join(p.text_content().split()))]
        if not any(len(t.split()) >= _MIN_PROSE_WORDS for t in texts):
            continue
        extra += [t for t in texts if _normalized(t) not in seen]
    return extra


def _block_of(tree: HtmlElement, paragraph: str) -> HtmlElement | None:
    """The parent element of the `<p>` whose text begins like `paragraph`."""
    prefix = " ".join(paragraph.split()[:8])
    if len(prefix) < 20:
        return None
    for p in tree.iter("p"):
        if " ".join(p.text_content().split()).startswith(prefix):
            return p.getparent()
    return None


def _prefer_jsonld(paragraphs: list[str], jsonld_body: str) -> list[str]:
    """The page's JSON-LD articleBody replaces an extraction that covers less than half of it
    (paywalls and script-built pages show only part of the body)."""
    body_lines = _lines(jsonld_body)
    if _words(body_lines) < max(_JSONLD_MIN_WORDS, 1.5 * _words(paragraphs)):
        return paragraphs
    declared = _shingles(" ".join(body_lines))
    extracted = _shingles(" ".join(paragraphs))
    if declared and len(declared & extracted) < 0.5 * len(declared):
        return body_lines
    return paragraphs


def _shingles(text: str, size: int = 4) -> set[tuple[str, ...]]:
    tokens = _normalized(text).split()
    return {tuple(tokens[i : i + size]) for i in range(max(0, len(tokens) - size + 1))}


def _drop_repeated_head(paragraphs: list[str], title: str, lead: str) -> list[str]:
    """The headline or the standfirst repeated at the top of the body (both are stored in
    their own fields)."""
    repeated = {_normalized(t) for t in (title, lead) if t}
    head = [p for p in paragraphs[:3] if _normalized(p) not in repeated]
    return head + paragraphs[3:]
