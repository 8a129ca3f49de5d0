"""The web page (`vigia serve`) against live engines: over HTTP with Starlette's client, then in a
real headless Chromium (Debian's chromium + chromium-driver, driven by Selenium) against a real
uvicorn server on a free loopback port."""

from __future__ import annotations

import base64
import csv
import dataclasses
import io
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
import uvicorn
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait
from starlette.testclient import TestClient
from test_store import synthetic

from vigia.config import Settings, WebSettings
from vigia.models import Article, Revision
from vigia.store import Store
from vigia.web import create_app

REPO = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO / ".vigia-test" / "screenshots"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> Titular hostil'
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
NOW = datetime.now(UTC)


def fixtures() -> list[Article]:
    """Forty recent articles over four departments, a story carried by three outlets, one
    article with two revisions, and one whose headline is an XSS attempt."""
    articles = [dataclasses.replace(synthetic(i), published_at=NOW - timedelta(hours=i * 5)) for i in range(40)]
    story = articles[1]
    copies = [
        dataclasses.replace(story, url=f"https://{outlet}.example/nota", source=outlet, source_name=name)
        for outlet, name in (("elfaro", "El Faro"), ("laprensagrafica", "La Prensa Gráfica"))
    ]
    articles[1] = dataclasses.replace(
        story,
        revision=3,
        modified_at=NOW - timedelta(hours=2),
        previous_versions=[
            Revision("a" * 40, seen_at=NOW - timedelta(days=2), word_count=10),
            Revision("b" * 40, seen_at=NOW - timedelta(days=1), word_count=12),
        ],
    )
    hostile = dataclasses.replace(
        synthetic(99, text="Texto con <b>negrita</b> y extorsión en </mark> San Miguel."),
        title=HOSTILE,
        lead="=cmd|' /C calc'!A0",
        published_at=NOW - timedelta(minutes=30),
    )
    out = [a.finalize() for a in [*articles, hostile]]
    for copy in copies:
        out.append(dataclasses.replace(copy.finalize(), story_cluster=articles[1].id))
    return out


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    store.upsert(fixtures())
    store.refresh()
    with TestClient(create_app(store.settings, store), raise_server_exceptions=False) as client:
        yield client


def test_search_page_escapes_highlights_and_counts(client: TestClient) -> None:
    page = client.get("/", params={"q": "extorsión"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    body = page.text
    assert "<script>alert" not in body and "<img src=x" not in body  # hostile text is text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; Titular hostil" in body
    assert "&lt;/mark&gt;" in body  # a crawled "</mark>" never closes a highlight
    assert "<mark>extorsión</mark>" in body
    assert "3 medios" in body  # the story carried by three outlets
    assert 'data-field="department" data-value="San Salvador"' in body
    assert "/descargar.csv?q=extorsi%C3%B3n" in body and "/feed.atom?q=extorsi%C3%B3n" in body
    # next page by cursor; the stories offset and the all-copies sort key both work
    nxt = client.get("/", params={"q": "pandilleros", "cursor": "20"})
    assert nxt.status_code == 200 and nxt.text.count('<article class="hit">') == 20  # 40 stories in all
    assert "primera página" in nxt.text and 'rel="next"' not in nxt.text
    copies = client.get("/", params={"copies": "all"})
    assert 'rel="next"' in copies.text and "cursor=%5B" in copies.text


def test_security_headers_read_only_and_error_pages(client: TestClient) -> None:
    for path in ("/", "/medios", "/static/vigia.css", "/no-existe"):
        response = client.get(path)
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src" not in csp and "default-src 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    missing = client.get("/no-existe")
    assert missing.status_code == 404 and "Página no encontrada" in missing.text
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        refused = client.request(method, "/")
        assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD"
        assert "solo lectura" in refused.text
    assert client.head("/").status_code == 200
    bad = client.get("/", params={"type": "homicidio"})
    assert bad.status_code == 400
    assert "--type &#39;homicidio&#39; is not known; use one of: homicide" in bad.text
    assert "Traceback" not in bad.text
    assert client.get("/", params={"cursor": "abc"}).status_code == 400
    assert client.get("/articulo/" + "0" * 40).status_code == 404
    assert client.get("/tendencias", params={"interval": "hour"}).status_code == 400


def test_engine_down_is_a_page_not_a_traceback(settings: Settings) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    down = settings.model_copy(
        update={"engine": settings.engine.model_copy(update={"url": f"http://127.0.0.1:{port}", "max_retries": 0})}
    )
    with TestClient(create_app(down), raise_server_exceptions=False) as client:
        page = client.get("/", params={"q": "x"})
    assert page.status_code == 503 and "no responde" in page.text and "Traceback" not in page.text


def test_basic_auth_by_configuration(store: Store) -> None:
    secured = store.settings.model_copy(update={"web": WebSettings(username="monitor", password="s3cr3t ñ")})
    with TestClient(create_app(secured, store)) as client:
        refused = client.get("/")
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
        assert client.get("/", auth=("monitor", "wrong")).status_code == 401
        garbage = {"authorization": "Basic !!!"}
        assert client.get("/", headers=garbage).status_code == 401
        assert client.get("/", auth=("monitor", "s3cr3t ñ")).status_code == 200
        token = base64.b64encode("monitor:s3cr3t ñ".encode()).decode()
        assert client.get("/medios", headers={"authorization": f"Basic {token}"}).status_code == 200


def test_article_trends_departments_and_outlets(client: TestClient) -> None:
    story = next(a for a in fixtures() if a.revision == 3)
    page = client.get(f"/articulo/{story.id}", params={"q": "pandilleros"})
    assert page.status_code == 200
    assert "El Faro" in page.text and "La Prensa Gráfica" in page.text  # the other outlets' copies
    assert page.text.count("versión anterior") == 2 and "(actual)" in page.text  # the revision history
    assert "Captura" in page.text and "0.90" in page.text  # tags with their scores
    assert f'href="{story.url}"' in page.text and "ver el original" in page.text
    assert "/?q=pandilleros" in page.text  # back to the same search
    trends = client.get("/tendencias", params={"q": "pandilleros", "interval": "day", "split": "violence_type"})
    assert trends.status_code == 200 and 'id="trend-chart"' in trends.text
    chart = client.get("/tendencias.svg", params={"q": "pandilleros", "interval": "day", "split": "violence_type"})
    assert chart.headers["content-type"].startswith("image/svg+xml") and "<svg" in chart.text
    assert "Homicidio" in chart.text  # the legend names types in Spanish
    departments = client.get("/departamentos", params={"q": "pandilleros"})
    rows = departments.text.split('<th scope="row">')[1:]
    assert len(rows) == 4 and all('<rect width="' in r for r in rows)
    assert '<rect width="100.0"' in rows[0]  # ranked: the first is the longest bar
    outlets = client.get("/medios")
    assert outlets.status_code == 200 and "El Faro" in outlets.text and "Estado de los medios" in outlets.text


def test_atom_feed_of_a_search_parses_back(client: TestClient) -> None:
    response = client.get("/feed.atom", params={"q": "extorsión", "department": "Sonsonate"})
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10" and "extorsión" in feed.feed.title and "Sonsonate" in feed.feed.title
    expected = {a.url for a in fixtures() if a.department == ["Sonsonate"]}
    assert {e.link for e in feed.entries} == expected and len(feed.entries) == len(expected)
    hostile = next(e for e in feed.entries if "Titular hostil" in e.title)
    assert hostile.title == HOSTILE  # text, not markup
    assert b"<script>" not in response.content and b"&lt;script&gt;" in response.content
    published = [e.published_parsed for e in feed.entries]
    assert published == sorted(published, reverse=True)


def test_downloads_stream_the_current_search(client: TestClient) -> None:
    response = client.get("/descargar.csv", params={"q": "extorsión", "type": "arrest"})
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    expected = [a for a in fixtures() if "arrest" in a.violence_type and "extorsión" in a.text]
    assert len(rows) == len(expected) and {r["url"] for r in rows} == {a.url for a in expected}
    hostile = next(r for r in rows if "Titular hostil" in r["title"])
    assert hostile["title"] == HOSTILE and hostile["lead"] == "'=cmd|' /C calc'!A0"
    lines = client.get("/descargar.jsonl", params={"q": "extorsión"}).text.splitlines()
    assert len(lines) == sum("extorsión" in a.text for a in fixtures())
    assert client.get("/descargar.xlsx").status_code == 404


# -- in a real browser ------------------------------------------------------------------------
class Server:
    """A real uvicorn server on a free loopback port, in a thread of the test."""

    def __init__(self, settings: Settings, store: Store) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.sock, self.port = sock, sock.getsockname()[1]
        config = uvicorn.Config(create_app(settings, store), log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 20 s")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    """Headless Debian Chromium through its own chromedriver (never a downloaded browser)."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: run `make system-deps` (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1100",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=ChromeService(executable_path=str(CHROMEDRIVER)), options=options)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


def assert_no_alert_nor_console_error(driver: webdriver.Chrome) -> None:
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert  # noqa: B018 - reading it is the check
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def test_in_a_real_browser(store: Store, browser: webdriver.Chrome, tmp_path: Path) -> None:
    store.upsert(fixtures())
    store.refresh()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with Server(store.settings, store) as base:
        browser.get(base + "/")
        assert "Vigía" in browser.title
        # type a query and send the form (no JavaScript involved)
        box = browser.find_element(By.ID, "q")
        box.send_keys("extorsión", Keys.ENTER)
        WebDriverWait(browser, 10).until(lambda d: "q=extorsi" in d.current_url)
        hostile = browser.find_element(By.PARTIAL_LINK_TEXT, "Titular hostil")
        assert hostile.text == HOSTILE  # the markup is visible as text, and nothing ran
        assert browser.find_elements(By.CSS_SELECTOR, ".snippet mark")
        assert_no_alert_nor_console_error(browser)
        browser.save_screenshot(str(SCREENSHOTS / f"search-{store.settings.engine.kind}.png"))
        # apply a facet
        browser.find_element(By.CSS_SELECTOR, 'a.facet[data-field="department"][data-value="San Salvador"]').click()
        WebDriverWait(browser, 10).until(lambda d: "department=San+Salvador" in d.current_url)
        places = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".hit .tag.place")]
        assert places and set(places) == {"San Salvador"}
        # open an article
        title = browser.find_element(By.CSS_SELECTOR, ".hit h3 a").text
        browser.find_element(By.CSS_SELECTOR, ".hit h3 a").click()
        assert browser.find_element(By.ID, "article-title").text == title
        assert browser.find_element(By.CSS_SELECTOR, "a.original").get_attribute("href").startswith("https://")
        # trends of the same search: the chart is drawn
        browser.find_element(By.LINK_TEXT, "Tendencias").click()
        assert "department=San+Salvador" in browser.current_url
        Select(browser.find_element(By.CSS_SELECTOR, ".chart-options select[name=interval]")).select_by_value("day")
        browser.find_element(By.CSS_SELECTOR, ".chart-options button").click()
        WebDriverWait(browser, 10).until(lambda d: "interval=day" in d.current_url)
        chart = browser.find_element(By.ID, "trend-chart")
        WebDriverWait(browser, 15).until(lambda d: d.execute_script("return arguments[0].naturalWidth", chart) > 0)
        assert_no_alert_nor_console_error(browser)
        # download the CSV of the search
        browser.find_element(By.LINK_TEXT, "Buscar").click()
        browser.find_element(By.ID, "download-csv").click()
        deadline = time.monotonic() + 20
        while not (done := [p for p in tmp_path.glob("vigia-*.csv")]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert done, "the CSV download did not arrive"
        rows = list(csv.DictReader(done[0].open(encoding="utf-8", newline="")))
        expected = [a for a in fixtures() if "extorsión" in a.text and a.department == ["San Salvador"]]
        assert {r["url"] for r in rows} == {a.url for a in expected}
        # the README's picture: the search's trend by violence type
        browser.get(base + "/tendencias?q=pandilleros&interval=day&split=violence_type")
        chart = browser.find_element(By.ID, "trend-chart")
        WebDriverWait(browser, 15).until(lambda d: d.execute_script("return arguments[0].naturalWidth", chart) > 0)
        browser.save_screenshot(str(SCREENSHOTS / f"trends-{store.settings.engine.kind}.png"))
