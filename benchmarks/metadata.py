"""Page metadata benchmark: publication day, headline and byline against what the page shows.

    python benchmarks/metadata.py [--shared ../shared] [--misses] [--json results.json]

The truth is `tests/fixtures/metadata/trafilatura-es-visible.json` (read by hand from the
rendered pages of `<shared>/benchmarks/extraction/trafilatura-es/html/`; facts, no page
text). Vigía's `extract()` is scored next to trafilatura's own metadata pass with its
defaults, so that the figures say what our layer adds. A date counts as right when its day
in the outlet's time zone is the visible day; a title when it equals the headline; the
authors when the set of names equals the visible byline's (both compared without case,
accents, quote styles or extra spaces).
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import trafilatura

from vigia.errors import NoArticle
from vigia.extract import extract

REPO_ROOT = Path(__file__).resolve().parents[1]
TRUTH = REPO_ROOT / "tests" / "fixtures" / "metadata" / "trafilatura-es-visible.json"
GOALS = {"date": 0.97, "title": 0.95, "authors": 0.90}
_QUOTES = str.maketrans({"“": '"', "”": '"', "«": '"', "»": '"', "‘": "'", "’": "'"})


@dataclass
class Found:
    """What one extractor read from one page (None: the extractor gave nothing)."""

    day: date | None
    title: str
    authors: list[str]


def normalized(text: str) -> str:
    """Case, accents, quote styles and spacing do not count."""
    text = unicodedata.normalize("NFKD", text.translate(_QUOTES))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.casefold().split())


def vigia_found(html: bytes, url: str, tz: ZoneInfo) -> Found:
    try:
        article = extract(html, url)
    except NoArticle:
        return Found(None, "", [])
    day = article.published_at.astimezone(tz).date() if article.published_at else None
    return Found(day, article.title, article.authors)


def trafilatura_found(html: bytes, url: str, tz: ZoneInfo) -> Found:
    """trafilatura's metadata with its defaults (its date is already a calendar day)."""
    doc = trafilatura.extract_metadata(html, default_url=url or None)
    if doc is None:
        return Found(None, "", [])
    day = datetime.strptime(doc.date, "%Y-%m-%d").date() if doc.date else None
    authors = [a.strip() for a in (doc.author or "").split(";") if a.strip()]
    return Found(day, doc.title or "", authors)


EXTRACTORS: dict[str, Callable[[bytes, str, ZoneInfo], Found]] = {
    f"trafilatura {version('trafilatura')} defaults": trafilatura_found,
    "vigia extract()": vigia_found,
}


def checks(found: Found, truth: dict[str, Any]) -> dict[str, bool]:
    """Right or wrong, per field, for one page."""
    return {
        "date": found.day is not None and found.day.isoformat() == truth["date"],
        "title": normalized(found.title) == normalized(truth["title"]),
        "authors": sorted(map(normalized, found.authors)) == sorted(map(normalized, truth["authors"])),
    }


def load_pages(shared: Path) -> list[tuple[str, bytes, str, dict[str, Any]]]:
    """(file name, html, url, truth) for every page of the truth file; the URL is the one
    the benchmark's evaldata gives (or "" for the pages it lists without one)."""
    bench = shared / "benchmarks" / "extraction" / "trafilatura-es"
    urls = {
        case["file"]: url if url.startswith("http") else ""
        for url, case in json.loads((bench / "evaldata.json").read_text()).items()
    }
    truth = {k: v for k, v in json.loads(TRUTH.read_text()).items() if not k.startswith("_")}
    return [
        (name, (bench / "html" / name).read_bytes(), urls.get(name, ""), row) for name, row in sorted(truth.items())
    ]


def score(
    pages: list[tuple[str, bytes, str, dict[str, Any]]],
    extractor: Callable[[bytes, str, ZoneInfo], Found],
) -> tuple[dict[str, float], dict[str, list[str]]]:
    """Share of pages right per field, and the misses as 'page: found ≠ visible' lines."""
    right = dict.fromkeys(GOALS, 0)
    misses: dict[str, list[str]] = {field: [] for field in GOALS}
    for name, html, url, truth in pages:
        found = extractor(html, url, ZoneInfo(truth["tz"]))
        for field, ok in checks(found, truth).items():
            right[field] += ok
            if not ok:
                value = {
                    "date": found.day,
                    "title": found.title,
                    "authors": found.authors,
                }
                misses[field].append(f"{name}: {value[field]!r} ≠ {truth[field]!r}")
    return {field: n / len(pages) for field, n in right.items()}, misses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared")
    parser.add_argument("--misses", action="store_true", help="list every wrong value")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    if not (args.shared / "benchmarks" / "extraction" / "trafilatura-es").is_dir():
        print(
            f"skipped: {args.shared}/benchmarks/extraction/trafilatura-es not found "
            "(pass --shared PATH to the shared folder)"
        )
        return 0
    pages = load_pages(args.shared)
    results = {}
    print(f"{len(pages)} trafilatura-es pages, visible values from {TRUTH.relative_to(REPO_ROOT)}")
    print(f"{'extractor':32} {'date':>6} {'title':>6} {'authors':>8}")
    for name, extractor in EXTRACTORS.items():
        shares, misses = score(pages, extractor)
        results[name] = shares
        print(f"{name:32} {shares['date']:6.1%} {shares['title']:6.1%} {shares['authors']:8.1%}")
        if args.misses:
            for field, lines in misses.items():
                for line in lines:
                    print(f"    {field} miss  {line}")
    ours = results["vigia extract()"]
    print(
        "goals: "
        + ", ".join(
            f"{field} >= {goal:.0%}: {'met' if ours[field] >= goal else 'NOT met'}" for field, goal in GOALS.items()
        )
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
