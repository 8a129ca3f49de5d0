"""Extraction benchmark: Vigía's `extract()` next to trafilatura's defaults, in one run.

    python benchmarks/extraction.py [--shared ../shared] [--json results.json]

Data are read from `<shared>/benchmarks/extraction/` (never copied into the project) and
scored with the product owner's scorers in `<shared>/tools/`:
- scrapinghub: F1 / precision / recall over 4-word shingles (`score_extraction.score`);
- trafilatura-es: share of snippet checks passed (`score_snippets.score`).
Throughput is measured on the same pages twice: a cold first pass (with the one-time loading
of date-parser locales and the language model) and a warm second pass (a crawler's steady
state, the figure the goal refers to); each page is timed for both extractors in turn so
that load from other processes affects both alike.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from types import ModuleType
from typing import Any

import trafilatura

from vigia.errors import NoArticle
from vigia.extract import extract

REPO_ROOT = Path(__file__).resolve().parents[1]
GOALS = {"scrapinghub_f1": 0.970, "snippets": 0.92, "throughput_ratio": 0.80}

Page = tuple[str, str | bytes, str]  # (key, html as the baseline scorer reads it, url)


def vigia_text(html: str | bytes, url: str) -> str:
    try:
        return extract(html, url).text
    except NoArticle:
        return ""


def trafilatura_text(html: str | bytes, url: str) -> str:
    return trafilatura.extract(html, url=url or None) or ""


EXTRACTORS: dict[str, Callable[[str | bytes, str], str]] = {
    f"trafilatura {version('trafilatura')} defaults": trafilatura_text,
    "vigia extract()": vigia_text,
}


def load_scorer(tools: Path, name: str) -> ModuleType:
    sys.path.insert(0, str(tools))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(tools))


def scrapinghub_pages(bench: Path) -> tuple[dict[str, Any], list[Page]]:
    truth = json.loads((bench / "ground-truth.json").read_text())
    pages = [
        (
            key,
            gzip.decompress((bench / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8", "replace"),
            row.get("url") or "",
        )
        for key, row in truth.items()
    ]
    return truth, pages


def snippet_pages(bench: Path) -> tuple[dict[str, Any], list[Page]]:
    cases = json.loads((bench / "evaldata.json").read_text())
    pages = [
        (
            case["file"],
            (bench / "html" / case["file"]).read_bytes(),
            url if url.startswith("http") else "",
        )
        for url, case in cases.items()
    ]
    return cases, pages


def run_all(
    pages: list[Page],
) -> tuple[dict[str, dict[str, str]], dict[str, float], dict[str, float]]:
    """Texts and seconds per extractor on a cold pass and on a warm second pass; the
    extractors take turns page by page, so load from other processes hits both alike."""
    texts: dict[str, dict[str, str]] = {name: {} for name in EXTRACTORS}
    seconds = [dict.fromkeys(EXTRACTORS, 0.0), dict.fromkeys(EXTRACTORS, 0.0)]
    for timing in seconds:
        for key, html, url in pages:
            for name, fn in EXTRACTORS.items():
                start = time.perf_counter()
                texts[name][key] = fn(html, url)
                timing[name] += time.perf_counter() - start
    return texts, seconds[0], seconds[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--shared",
        type=Path,
        default=REPO_ROOT.parent / "shared",
        help="the shared folder (default: ../shared)",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args()
    bench_root, tools = args.shared / "benchmarks" / "extraction", args.shared / "tools"
    if not bench_root.is_dir() or not tools.is_dir():
        print(f"skipped: {bench_root} or {tools} not found (pass --shared PATH to the shared folder)")
        return 0
    score_extraction = load_scorer(tools, "score_extraction")
    score_snippets = load_scorer(tools, "score_snippets")

    truth, sh_pages = scrapinghub_pages(bench_root / "scrapinghub")
    cases, es_pages = snippet_pages(bench_root / "trafilatura-es")
    sh_texts, sh_cold, sh_warm = run_all(sh_pages)
    es_texts, es_cold, es_warm = run_all(es_pages)
    n_pages = len(sh_pages) + len(es_pages)

    results: dict[str, dict[str, float]] = {}
    for name in EXTRACTORS:
        sh = score_extraction.score(truth, {k: {"articleBody": t} for k, t in sh_texts[name].items()})
        es = score_snippets.score(cases, es_texts[name])
        results[name] = {
            "scrapinghub_f1": sh["f1"],
            "scrapinghub_precision": sh["precision"],
            "scrapinghub_recall": sh["recall"],
            "snippets": es["checks_passed"],
            "snippet_pages_all_passed": es["pages_all_passed"],
            "pages_per_s_cold": n_pages / (sh_cold[name] + es_cold[name]),
            "pages_per_s": n_pages / (sh_warm[name] + es_warm[name]),
        }
        n_checks = es["checks"]
    baseline, ours = (results[name] for name in EXTRACTORS)
    ratio = ours["pages_per_s"] / baseline["pages_per_s"]
    cold_ratio = ours["pages_per_s_cold"] / baseline["pages_per_s_cold"]

    print(f"{len(sh_pages)} scrapinghub pages, {len(es_pages)} trafilatura-es pages ({n_checks} checks)")
    print(f"{'extractor':32} {'F1':>6} {'P':>6} {'R':>6} {'checks':>7} {'pages/s':>8} {'cold':>6}")
    for name, row in results.items():
        print(
            f"{name:32} {row['scrapinghub_f1']:6.3f} {row['scrapinghub_precision']:6.3f} "
            f"{row['scrapinghub_recall']:6.3f} {row['snippets']:7.1%} {row['pages_per_s']:8.1f} {row['pages_per_s_cold']:6.1f}"
        )
    print(
        f"throughput vigia / trafilatura: {ratio:.0%} warm (second pass), {cold_ratio:.0%} cold "
        "(first pass, includes one-time loading of date-parser locales and the language model)"
    )
    checks = {
        "scrapinghub F1 >= 0.970": ours["scrapinghub_f1"] >= GOALS["scrapinghub_f1"],
        "trafilatura-es checks >= 92%": ours["snippets"] >= GOALS["snippets"],
        "throughput >= 80% of trafilatura": ratio >= GOALS["throughput_ratio"],
    }
    print("goals: " + ", ".join(f"{goal}: {'met' if ok else 'NOT met'}" for goal, ok in checks.items()))
    if args.json:
        args.json.write_text(
            json.dumps(
                {"results": results, "throughput_ratio": ratio, "goals": checks},
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
