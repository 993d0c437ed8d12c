"""A real browser: headless Chromium opens a CMS article on another origin that embeds
the founding letter's card (the oEmbed `html`, pasted as is) and its badge (the line the
README gives CMS authors), served by a live `serve`; the test checks what renders.

The founding example's verdict on the letter links no article, so the test first has the
newsroom publish the same verdict with the URL of its fact-check. Then it checks, in the
card's frame: the title, the issuer, "Authentic" in the verdict's colour, the
corroborations, the fact-check and record links, no scrolling (at 1280 and 375 pixels
wide); on the page: the badge image loaded at its size; anywhere: no console error, CSP
violation or refused frame. Last, a page framing an API URL is refused by the browser.

Screenshots of the article (desktop and phone widths) and the article's HTML are saved
in artifacts/browser/ at the repository root. Chromium is `chromium` on the PATH, or the
binary named by CHROMIUM; without one the test is skipped.
"""

from __future__ import annotations

import asyncio
import re
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.commands.example import example_id, load_into
from service.settings import Settings
from tests import keys
from tests.distribution.chromium import Chromium, DevToolsError, find_chromium
from tests.distribution.support import assess
from tests.ops.support import ROOT, LiveServer

CHROMIUM = find_chromium()

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no Chromium binary (Debian: apt-get install chromium; `make test` installs it as root)",
    ),
]

ARTIFACTS = ROOT / "artifacts" / "browser"
LETTER = str(example_id("document:letter"))
# The base URL the README's lines use: `make run`'s.
README_BASE = "http://127.0.0.1:8000"
FACT_CHECK = "https://factcheck.example.org/pentagon-letter-iraq"
AUTHENTIC_GREEN = "rgb(26, 127, 55)"  # #1a7f37, the badge's and the pill's colour
DESKTOP = (1280, 900)
PHONE = (375, 812)


def readme_embedding_lines() -> dict[str, str]:
    """The README's lines for CMS authors ("Embedding verification on your pages"):
    `badge` (the <a><img> line) and `card` (the <iframe> line)."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Embedding verification on your pages", 1)[1].split("\n## ", 1)[0]
    lines = {}
    for line in section.splitlines():
        if line.startswith("<a ") and "/v1/badges/" in line:
            lines["badge"] = line
        elif line.startswith("<iframe "):
            lines["card"] = line
    assert set(lines) == {"badge", "card"}, f"the README section lacks a line: {lines}"
    return lines


def article(card: str, badge: str) -> str:
    """A CMS article: a headline, paragraphs, the pasted card and badge."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<link rel="icon" href="data:,">'
        "<title>The Pentagon letter on leaving Iraq - Example Gazette</title>"
        "<style>body{margin:0;font:18px/1.55 Georgia,serif;color:#222;background:#fafaf7}"
        "article{max-width:680px;margin:0 auto;padding:24px 16px}h1{font-size:1.7em}</style>"
        "</head><body><article>"
        "<h1>The Pentagon letter on leaving Iraq</h1>"
        "<p>A letter from the U.S. Department of Defense to the Iraqi military said U.S. "
        "forces would prepare for onward movement. Officials called it a draft sent by "
        "mistake. Here is what our fact-checkers found.</p>"
        f"{card}"
        f'<p id="badge-line">Our verdict: {badge}</p>'
        "<p>We will update this story as the record changes.</p>"
        "</article></body></html>"
    )


@contextmanager
def serve_pages(pages: dict[str, str]) -> Iterator[str]:
    """Serve `pages` ({path: html}) from a tiny HTTP server on a loopback port of its own
    (a different origin from the service's, as a CMS would be); yield its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path not in pages:
                self.send_error(404)
                return
            body = pages[self.path].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # `localhost`, not the service's 127.0.0.1: another site, as well as another origin.
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class Png:
    width: int
    height: int
    distinct_bytes: int  # in the decompressed scanlines: a blank image has a handful


def read_png(data: bytes) -> Png:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        if kind == b"IDAT":
            chunks.append(data[offset + 8 : offset + 8 + length])
        offset += 12 + length
    return Png(width, height, len(set(zlib.decompress(b"".join(chunks)))))


# What the page and the frame report, as JSON from JavaScript.
CARD_JS = """(() => {
  const text = (s) => (document.querySelector(s)?.textContent ?? '').trim();
  const pill = document.querySelector('.pill');
  const root = document.documentElement;
  return {
    href: location.href,
    title: text('.claim'),
    who: text('.who'),
    verdict: text('.pill'),
    pill_background: pill ? getComputedStyle(pill).backgroundColor : null,
    headline: text('.headline'),
    counts: text('.counts'),
    links: [...document.querySelectorAll('a')].map((a) => ({text: a.textContent.trim(), href: a.href})),
    scroll_width: root.scrollWidth, client_width: root.clientWidth,
    scroll_height: root.scrollHeight, client_height: root.clientHeight,
  };
})()"""

PAGE_JS = """(() => {
  const iframe = document.querySelector('iframe');
  const img = document.querySelector('#badge-line img');
  const box = (e) => { const r = e.getBoundingClientRect(); return {width: r.width, height: r.height}; };
  const root = document.documentElement;
  return {
    iframe: {...box(iframe), src: iframe.src},
    badge: {complete: img.complete, natural_width: img.naturalWidth,
            natural_height: img.naturalHeight, ...box(img), alt: img.alt,
            link: img.closest('a')?.href},
    inner_width: innerWidth,
    scroll_width: root.scrollWidth, client_width: root.clientWidth,
  };
})()"""


@dataclass
class Rendered:
    page: dict[str, Any]
    card: dict[str, Any]
    screenshot: bytes


def render(browser: Chromium, embed_url: str, *, besides: frozenset[str] = frozenset()) -> Rendered:
    """The page and the card as the browser shows them now, and a screenshot; the card
    from a frame other than `besides` (those of the page before)."""
    try:
        frame = browser.frame_session(embed_url, besides=besides)
        card = browser.wait_until(
            f"document.querySelector('.card') && {CARD_JS}", session=frame, timeout=10
        )
        page = browser.wait_until(
            f"document.querySelector('#badge-line img').complete && {PAGE_JS}", timeout=10
        )
    except DevToolsError as error:
        # A refused frame shows an error page instead of the card: say why.
        raise DevToolsError(f"{error}\nerrors in the browser: {browser.errors}") from None
    return Rendered(page=page, card=card, screenshot=browser.screenshot())


@dataclass
class Visit:
    desktop: Rendered
    phone: Rendered
    errors: list[str]  # while showing the article
    framing_the_api: list[str]  # the errors of a page that frames an API URL


def drive(binary: str, site: str, embed_url: str) -> Visit:
    """Open the article at desktop, then at phone width, then a page framing the API."""
    with Chromium(binary, width=DESKTOP[0], height=DESKTOP[1]) as browser:
        browser.set_viewport(*DESKTOP)
        browser.navigate(f"{site}/article")
        desktop = render(browser, embed_url)
        before = frozenset(browser.frames)
        browser.set_viewport(*PHONE, mobile=True)
        browser.navigate(f"{site}/article")
        phone = render(browser, embed_url, besides=before)
        browser.pump(0.2)  # late console messages
        errors = list(browser.errors)
        browser.navigate(f"{site}/framing-the-api")
        deadline = time.monotonic() + 10
        while len(browser.errors) == len(errors) and time.monotonic() < deadline:
            browser.pump(0.05)
        browser.pump(0.2)
        return Visit(desktop, phone, errors, browser.errors[len(errors) :])


def save(name: str, data: bytes) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    path.write_bytes(data)
    return path


async def test_a_cms_page_shows_the_letters_card_and_badge(database_url: str) -> None:
    assert CHROMIUM is not None
    await load_into(database_url)
    server = LiveServer(database_url)
    # Links in the oEmbed answer and the card must point at this very server.
    server.env["PUBLIC_BASE_URL"] = server.url
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as anonymous:
            letter = (await anonymous.get(f"/v1/documents/{LETTER}")).json()
            issuer = (await anonymous.get(f"/v1/organizations/{letter['issuer_id']}")).json()
            assert letter["verification"]["label"] == "Authentic", letter["verification"]

            # The newsroom links its article: the same verdict and evidence, with a URL.
            async with httpx.AsyncClient(
                base_url=server.url, headers=keys.bearer(keys.ADMIN), timeout=10
            ) as newsroom:
                current = example_id("assessment:letter_confirmed")
                confirmed = (await newsroom.get(f"/v1/assessments/{current}")).json()
                await assess(
                    newsroom,
                    "document",
                    LETTER,
                    "authentic",
                    headline=confirmed["headline"],
                    url=FACT_CHECK,
                    evidence=confirmed["evidence"],
                    supersedes_id=str(current),
                )

            embed_url = f"{server.url}/embed/documents/{LETTER}"
            oembed = await anonymous.get("/v1/oembed", params={"url": embed_url})
            assert oembed.status_code == 200, oembed.text
            badge_url = f"{server.url}/v1/badges/documents/{LETTER}.svg"
            svg = await anonymous.get(badge_url)
            assert svg.status_code == 200
            assert svg.headers["content-type"].startswith("image/svg+xml")
            assert "<title>Verification Record: Authentic</title>" in svg.text

            # Any site may frame the card; no site may frame the API.
            embed = await anonymous.get(embed_url)
            assert "frame-ancestors *" in embed.headers["content-security-policy"]
            assert "x-frame-options" not in embed.headers
            record_url = f"{server.url}/v1/documents/{LETTER}/record"
            api = await anonymous.get(record_url)
            assert api.headers["x-frame-options"] == "DENY"
            assert "frame-ancestors 'none'" in api.headers["content-security-policy"]

        # The README's lines are for `make run`'s base URL (also the default); pointed at
        # this server, they are what the service itself would answer.
        assert Settings(database_url=database_url).public_base_url == README_BASE
        readme = {
            k: v.replace(README_BASE, server.url) for k, v in readme_embedding_lines().items()
        }
        assert f'src="{embed_url}"' in readme["card"]
        assert f'src="{badge_url}"' in readme["badge"]
        snippet = oembed.json()["html"]
        card_attributes = re.sub(r' title="[^"]*"', "", snippet)
        assert card_attributes == re.sub(r' title="[^"]*"', "", readme["card"]), (
            "the README's <iframe> line differs from the oEmbed html"
        )

        page_html = article(snippet, readme["badge"])
        save("article.html", page_html.encode())
        pages = {
            "/article": page_html,
            "/framing-the-api": f'<!doctype html><iframe src="{record_url}"></iframe>',
        }
        with serve_pages(pages) as site:
            visit = await asyncio.to_thread(drive, CHROMIUM, site, embed_url)
    finally:
        server.stop()
    desktop, phone = visit.desktop, visit.phone
    desktop_png = save("letter-card-and-badge-desktop.png", desktop.screenshot)
    phone_png = save("letter-card-and-badge-phone.png", phone.screenshot)

    # Nothing blocked: no refused frame (X-Frame-Options, frame-ancestors), no CSP
    # violation, no failed load, no script error, in the article or in the card.
    assert visit.errors == []
    # While the browser refuses to show the API in another site's frame.
    assert any("X-Frame-Options" in e or "frame-ancestors" in e for e in visit.framing_the_api), (
        visit.framing_the_api
    )

    # The card, inside the article's iframe (another origin, its own process).
    card = desktop.card
    assert card["href"] == embed_url
    assert card["title"] == letter["title"]
    assert card["who"].startswith(f"Issued by {issuer['name']}")
    assert card["verdict"] == "Authentic"
    assert card["pill_background"] == AUTHENTIC_GREEN  # its inline style applied
    assert card["headline"] == confirmed["headline"]
    corroborations = letter["verification"]["corroborations"]
    assert corroborations >= 3
    assert "Corroborated by Agence France-Presse, Reuters and The Washington Post" in card["counts"]
    links = {link["text"]: link["href"] for link in card["links"]}
    assert links == {
        "Read the fact-check": FACT_CHECK,
        "Full record": record_url,
    }
    # The frame shows the card whole, without scrolling either way.
    assert card["scroll_width"] <= card["client_width"]
    assert card["scroll_height"] <= card["client_height"]

    # The badge: an image that loaded, at its own size, linking to the record.
    page = desktop.page
    badge = page["badge"]
    assert badge["complete"] and badge["natural_width"] > 100 and badge["natural_height"] == 20
    assert badge["height"] == 20
    assert badge["link"] == record_url
    assert page["iframe"]["width"] == 560 and page["iframe"]["height"] == 360

    # On a phone the card narrows to the page and nothing scrolls sideways.
    assert phone.card["verdict"] == "Authentic"
    assert phone.page["iframe"]["width"] <= phone.page["inner_width"]
    assert phone.page["scroll_width"] <= phone.page["client_width"]
    assert phone.card["client_width"] <= PHONE[0]
    assert phone.card["scroll_width"] <= phone.card["client_width"]
    assert phone.card["scroll_height"] <= phone.card["client_height"]  # and it is all there

    # The screenshots: PNGs of the window, with more than a blank page in them.
    for path, (width, height) in ((desktop_png, DESKTOP), (phone_png, PHONE)):
        png = read_png(path.read_bytes())
        assert (png.width, png.height) == (width, height), path
        assert png.distinct_bytes > 64, f"{path} looks blank"
