"""Hostile and careless input never ends in a traceback, a restyled line or lost data (issue 10).

Each test drives the real CLI (typer's runner, or the installed `vigia` in a subprocess where the
log output matters) against real engines, real files and real local servers."""

from __future__ import annotations

import gzip
import html
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from vigia.cli import app
from vigia.config import Settings, get_settings
from vigia.models import Article
from vigia.store import Store

VIGIA = Path(sys.executable).parent / "vigia"
Cli = Callable[..., Result]


def article(i: int, text: str = "") -> Article:
    return Article(
        url=f"https://www.example.sv/nota/{i}",
        source="elfaro",
        title=f"Capturan a pandilleros en Soyapango, caso {i}",
        text=text or f"Agentes de la Policía capturaron a dos pandilleros por extorsión. Caso número {i}.",
        violence_type=["arrest"],
    ).finalize()


def home_env(home: Path) -> dict[str, str]:
    """A state directory of its own and an empty config file (the user's is never read)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "none.yaml").write_text("{}\n")
    return {"VIGIA_CONFIG": str(home / "none.yaml"), "VIGIA_HOME": str(home)}


def cli_env(settings: Settings, home: Path) -> dict[str, str]:
    """The environment that makes the CLI use ``settings``' engine and index, with its own home
    (spool and state) in ``home`` so tests never share a spool."""
    env = {
        **home_env(home),
        "VIGIA_ENGINE__KIND": settings.engine.kind,
        "VIGIA_ENGINE__URL": settings.engine_url,
        "VIGIA_INDEX__PREFIX": settings.index.prefix,
    }
    if auth := settings.engine_auth():
        env["VIGIA_ENGINE__USERNAME"], env["VIGIA_ENGINE__PASSWORD"] = auth
    return env


def same_settings(settings: Settings, home: Path) -> Settings:
    """``settings`` as the CLI sees them with :func:`cli_env` (for checks through the store)."""
    env = cli_env(settings, home)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return Settings()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def invoker(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Iterator[Cli]:
    """`vigia …` in process with ``env`` as its only VIGIA_* settings."""
    for key in [k for k in os.environ if k.startswith("VIGIA_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args))
    get_settings.cache_clear()


@pytest.fixture
def cli(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """`vigia …` on the test engine with a fresh index prefix and home."""
    yield from invoker(monkeypatch, cli_env(settings, tmp_path / "home"))


PAGE_LIMIT = 200_000


@pytest.fixture
def offline_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """`vigia …` for commands that need no engine, with a small page limit."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "none.yaml").write_text("{}\n")
    env = {"VIGIA_CONFIG": str(home / "none.yaml"), "VIGIA_HOME": str(home)}
    yield from invoker(monkeypatch, {**env, "VIGIA_CRAWL__MAX_RESPONSE_BYTES": str(PAGE_LIMIT)})


def run_vigia(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The installed `vigia` in a subprocess: its log lines (warnings) are part of its output."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VIGIA_")}
    return subprocess.run(
        [str(VIGIA), *args], env={**clean, **env}, capture_output=True, text=True, timeout=120, check=False
    )


def one_error_line(result: Result, code: int = 2) -> str:
    """The command failed with ``code`` and said why in one line, with no traceback."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


# -- defect 4: a truncated spool line ------------------------------------------------------------
def test_a_truncated_spool_line_is_set_aside_and_the_rest_replayed(settings: Settings, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = cli_env(settings, home)
    local = same_settings(settings, home)
    store = Store(local)
    store.init_indices()
    try:
        store.spool.append([article(1), article(2)])
        truncated = json.dumps(article(3).to_doc(), ensure_ascii=False)[:70]
        with open(local.spool_path, "a", encoding="utf-8") as handle:
            handle.write(truncated)  # a crash in the middle of an append
        status = run_vigia(env, "index", "status")
        assert status.returncode == 0, status.stderr
        assert "Traceback" not in status.stderr
        rejected = local.spool_path.with_name(local.spool_path.name + ".rejected")
        assert rejected.read_text(encoding="utf-8") == truncated + "\n"
        warnings = [line for line in status.stderr.splitlines() if str(rejected) in line]
        assert len(warnings) == 1 and "1 unreadable line" in warnings[0], status.stderr
        # the replay is visible at once: `index status` counts after a refresh
        assert f"{local.index.prefix}-articles → " in status.stderr and "-000001: 2 documents" in status.stderr
        assert not store.spool.pending()
        again = run_vigia(env, "index", "status")
        assert again.returncode == 0 and str(rejected) not in again.stderr, again.stderr
    finally:
        store.drop_indices()


# -- defect 6: outputs never destroy inputs, nor leave half files --------------------------------
@pytest.fixture
def articles_jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "articles.jsonl"
    rows = [{"id": str(i), "title": a.title, "text": a.text} for i, a in enumerate(map(article, range(3)))]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def classify(*args: str) -> Result:
    return CliRunner().invoke(app, ["classify", "--tagger", "keywords", *args])


def test_classify_refuses_to_write_over_its_input(articles_jsonl: Path) -> None:
    before = articles_jsonl.read_bytes()
    same = articles_jsonl.parent / "sub" / ".." / articles_jsonl.name  # another spelling of the same file
    (articles_jsonl.parent / "sub").mkdir()
    line = one_error_line(classify("--input", str(articles_jsonl), "--output", str(same)))
    assert "same file as --input" in line
    assert articles_jsonl.read_bytes() == before


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (lambda tmp: tmp, "is a directory"),
        (lambda tmp: tmp / "articles.jsonl" / "out.jsonl", "not a writable directory"),
        (lambda tmp: Path("/proc/vigia-no-such-dir/out.jsonl"), "cannot be written"),
    ],
    ids=["directory", "under-a-file", "unwritable"],
)
def test_classify_output_that_cannot_be_written_is_one_line(
    articles_jsonl: Path, where: Callable[[Path], Path], message: str
) -> None:
    output = where(articles_jsonl.parent)
    line = one_error_line(classify("--input", str(articles_jsonl), "--output", str(output)))
    assert message in line and str(output) in line


def test_classify_writes_its_output_whole(articles_jsonl: Path) -> None:
    output = articles_jsonl.parent / "tags.jsonl"
    result = classify("--input", str(articles_jsonl), "--output", str(output))
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in output.read_text().splitlines()] == ["0", "1", "2"]
    assert sorted(p.name for p in articles_jsonl.parent.iterdir()) == ["articles.jsonl", "tags.jsonl"]


def test_an_interrupted_output_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    from vigia.outputs import atomic_output

    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    with pytest.raises(KeyboardInterrupt), atomic_output(target) as handle:
        handle.write("half a li")
        raise KeyboardInterrupt
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


# -- defect 7: non-UTF-8 input to classify -------------------------------------------------------
def test_classify_names_the_file_and_line_that_is_not_utf8(articles_jsonl: Path) -> None:
    with articles_jsonl.open("ab") as handle:
        handle.write(json.dumps({"id": "x", "title": "Policía", "text": "niño"}, ensure_ascii=False).encode("cp1252"))
    output = articles_jsonl.parent / "tags.jsonl"
    line = one_error_line(classify("--input", str(articles_jsonl), "--output", str(output)))
    assert f"{articles_jsonl}:4: not UTF-8" in line
    assert not output.exists()


# -- extract: markup in arguments, local file limits, directories, encodings, addresses ------------
def page_html(title: str, paragraph: str) -> str:
    return (
        f'<html><head><meta charset="utf-8"><title>{title}</title></head><body><article><h1>{title}</h1>'
        + f"<p>{paragraph}</p>" * 3
        + "</article></body></html>"
    )


SPANISH = "La Policía Nacional Civil rescató a un niño de ocho años en Soyapango, informó la institución este martes."


@pytest.mark.parametrize("name", ["[/x]", "[bold red]x[/]", "</mark>"])
def test_markup_in_an_argument_is_printed_literally(offline_cli: Cli, name: str) -> None:
    result = offline_cli("extract", name)
    line = one_error_line(result, code=1)
    assert f"error: {name}: no such file" in line


def test_extract_on_a_directory_says_it_is_a_directory(offline_cli: Cli, tmp_path: Path) -> None:
    line = one_error_line(offline_cli("extract", str(tmp_path)), code=1)
    assert f"{tmp_path}: is a directory" in line


def test_a_local_gzip_bomb_is_refused_at_the_page_limit(offline_cli: Cli, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.html.gz"
    bomb.write_bytes(gzip.compress(b"<p>" + b"a" * (200 * PAGE_LIMIT), compresslevel=9))  # 40 MB unpacked
    assert bomb.stat().st_size < PAGE_LIMIT
    line = one_error_line(offline_cli("extract", str(bomb)), code=1)
    assert f"decompresses to more than the {PAGE_LIMIT}-byte page limit" in line
    assert "VIGIA_CRAWL__MAX_RESPONSE_BYTES" in line


def test_a_local_file_over_the_page_limit_is_refused(offline_cli: Cli, tmp_path: Path) -> None:
    big = tmp_path / "big.html"
    big.write_text(page_html("Grande", SPANISH * (PAGE_LIMIT // len(SPANISH) + 1)), encoding="utf-8")
    line = one_error_line(offline_cli("extract", str(big)), code=1)
    assert f"larger than the {PAGE_LIMIT}-byte page limit" in line and "VIGIA_CRAWL__MAX_RESPONSE_BYTES" in line


def test_a_gzip_page_under_the_limit_is_extracted(offline_cli: Cli, tmp_path: Path) -> None:
    page = tmp_path / "nota.html.gz"
    page.write_bytes(gzip.compress(page_html("Rescate", SPANISH).encode()))
    result = offline_cli("extract", str(page))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["title"] == "Rescate"


def test_a_windows_1252_page_declaring_utf8_is_decoded_as_what_it_is(offline_cli: Cli, tmp_path: Path) -> None:
    page = tmp_path / "nota.html"
    page.write_bytes(page_html("La Policía rescata a un niño", SPANISH).encode("cp1252"))
    result = offline_cli("extract", str(page))
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["title"] == "La Policía rescata a un niño"
    assert "Policía Nacional Civil rescató a un niño de ocho años" in record["text"]


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "localhost", "[::1]", "10.1.2.3", "192.168.0.1", "169.254.169.254", "[::ffff:127.0.0.1]"]
)
def test_extract_refuses_urls_on_non_public_addresses(offline_cli: Cli, address: str) -> None:
    url = f"http://{address}:9/latest/meta-data"
    line = one_error_line(offline_cli("extract", url), code=1)
    assert f"{url}: " in line and "not a public address" in line


class _Redirect(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_redirect_to_a_link_local_address_is_not_followed() -> None:
    from vigia.extract.inputs import PageError, public_opener

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:  # the opener that `vigia extract` uses, on a real redirect
        with pytest.raises(PageError, match=r"169\.254\.169\.254 is 169\.254\.169\.254, not a public address"):
            public_opener().open(f"http://127.0.0.1:{server.server_port}/nota", timeout=5)
    finally:
        server.shutdown()
        server.server_close()


# -- defect 2: crawled text with markup, searched --------------------------------------------------
HOSTILE = "Capturan pandilleros </mark> con [bold]armas[/bold] y [/x] en Soyapango <mark>falso</mark>"


def test_markup_in_crawled_text_is_shown_literally_by_search(cli: Cli, settings: Settings, tmp_path: Path) -> None:
    store = Store(same_settings(settings, tmp_path / "home"))
    store.init_indices()
    try:
        store.upsert([article(1, text=HOSTILE * 3)])
        store.refresh()
        table = cli("search", "pandilleros", "--limit", "5")
        assert table.exit_code == 0, table.output
        flat = " ".join(table.stdout.split())
        for literal in ("</mark>", "[bold]armas[/bold]", "[/x]", "<mark>falso</mark>"):
            assert literal in flat, table.stdout
        as_json = cli("search", "pandilleros", "--json")
        assert as_json.exit_code == 0, as_json.output
        hit = json.loads(as_json.stdout.splitlines()[0])
        assert HOSTILE in hit["text"]
        # the JSON highlight is HTML (encoded text, matches in <mark>): crawled tags stay text
        snippet = " ".join(hit["highlight"]["text"])
        assert "&lt;&#x2F;mark&gt;" in snippet and "[/x]" in html.unescape(snippet)
    finally:
        store.drop_indices()


# -- defect 7: engine errors are one line that says what to do --------------------------------------
@pytest.fixture
def engine_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """The CLI pointed at a port where no engine listens (a stopped engine)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once the probe closes
    env = {
        **home_env(tmp_path / "home"),
        "VIGIA_ENGINE__URL": f"http://127.0.0.1:{port}",
        "VIGIA_ENGINE__MAX_RETRIES": "1",
    }
    yield from invoker(monkeypatch, env)


@pytest.mark.parametrize("command", [["index", "status"], ["sources", "status"], ["search", "homicidio"]])
def test_a_stopped_engine_is_one_line_naming_the_fix(engine_down: Cli, command: list[str]) -> None:
    line = one_error_line(engine_down(*command))
    assert "cannot reach elasticsearch" in line and "vigia engine start" in line


@pytest.mark.parametrize("command", [["search", "homicidio"], ["sources", "status"]])
def test_before_index_init_commands_say_to_run_it(cli: Cli, command: list[str]) -> None:
    line = one_error_line(cli(*command))
    assert "does not exist" in line and "run `vigia index init" in line


def test_a_query_over_the_clause_limit_says_which_limit(cli: Cli) -> None:
    assert cli("index", "init").exit_code == 0
    words = " | ".join(f"palabra{i}" for i in range(5000))
    line = one_error_line(cli("search", words))
    assert "maxClauseCount" in line and "fewer words" in line


# -- defect 8: unknown sources, and a crawl whose links were all off the registry -------------------
def test_search_validates_sources_against_the_registry(offline_cli: Cli) -> None:
    line = one_error_line(offline_cli("search", "--source", "nosuch"))
    assert "--source 'nosuch' is not known" in line and "use one of: " in line and "elfaro" in line


def test_a_crawl_with_only_offsite_links_says_why_it_found_nothing() -> None:
    from crawler.records import COUNTERS
    from vigia.cli.crawl import offsite_note

    records = [{**dict.fromkeys(COUNTERS, 0), "source": "elfaro", "offsite_links": 7, "errors": {}}]
    note = offsite_note(records)
    assert note and "all 7 article links" in note and "off the registry's domains" in note
    assert offsite_note([{**records[0], "new": 1}]) is None


def test_markup_in_a_file_name_is_not_read_as_markup(tmp_path: Path) -> None:
    labels = tmp_path / "[bold]gold[red].jsonl"
    labels.write_text(json.dumps({"id": "1", "title": "t", "text": "x", "violence_type": [], "actor": [],
                                  "department": [], "in_el_salvador": True}) + "\n")  # fmt: skip
    result = CliRunner().invoke(app, ["evaluate", "--tagger", "keywords", "--labels", str(labels)])
    assert result.exit_code == 0, result.output
    assert "[bold]gold[red]" in result.stdout
