"""The embeddable card (self-contained, escaped, framable) and its oEmbed discovery."""

from __future__ import annotations

import pytest

from tests.distribution.support import EMBED_CSP, PUBLIC_CACHE_CONTROL, assess, parse
from tests.helpers import (
    BASE_URL,
    MISSING_ID,
    assert_problem,
    create_document,
    create_organization,
    create_person,
    create_statement,
)

pytestmark = pytest.mark.asyncio

HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)> "quoted"'


async def test_a_statement_card_shows_the_quote_speaker_verdict_and_links(anonymous_client, client):
    speaker = await create_person(client, name="Mark Esper")
    outlet = await create_organization(client, name="Reuters")
    statement = await create_statement(
        client,
        speaker_id=speaker["id"],
        text="There's been no decision whatsoever to leave Iraq.",
        said_at="2020-01-06T21:00:00Z",
    )
    url = f"/embed/statements/{statement['id']}"

    before = await anonymous_client.get(url)
    assert before.status_code == 200, before.text
    assert "Unverified" in parse(before.text).text

    await assess(
        client,
        "statement",
        statement["id"],
        "misleading",
        url="https://factcheck.example.org/esper",
        evidence=[{"kind": "confirmation", "organization_id": outlet["id"], "stance": "supports"}],
    )
    response = await anonymous_client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == EMBED_CSP
    assert "x-frame-options" not in response.headers
    assert response.headers["cache-control"] == PUBLIC_CACHE_CONTROL
    page = parse(response.text)
    text = " ".join(page.text)
    assert "There's been no decision whatsoever to leave Iraq." in text
    assert "Mark Esper" in text and "6 January 2020" in text
    assert "Misleading" in text and "Unverified" not in text
    assert "Corroborated by Reuters" in text
    links = {attrs.get("href"): attrs for tag, attrs in page.tags if tag == "a"}
    assert "https://factcheck.example.org/esper" in links
    assert f"{BASE_URL}/v1/statements/{statement['id']}/record" in links
    assert all(
        a.get("target") == "_blank" and "noopener" in (a.get("rel") or "") for a in links.values()
    )
    # The verdict is coloured like the badge (misleading: orange with dark text).
    assert "--verdict-bg:#f08c00" in response.text
    # Readable on a phone.
    assert ("meta", {"name": "viewport", "content": "width=device-width,initial-scale=1"}) in (
        page.tags
    )

    etag = response.headers["etag"]
    not_modified = await anonymous_client.get(url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["cache-control"] == PUBLIC_CACHE_CONTROL
    assert before.headers["etag"] != etag


async def test_a_document_card_shows_its_title_issuer_and_verdict(anonymous_client, client):
    issuer = await create_organization(client, name="U.S. Department of Defense")
    document = await create_document(
        client, title="Letter on onward movement", issuer_id=issuer["id"], dated_on="2020-01-06"
    )
    await assess(client, "document", document["id"], "authentic")
    response = await anonymous_client.get(f"/embed/documents/{document['id']}")
    assert response.status_code == 200
    text = " ".join(parse(response.text).text)
    assert "Letter on onward movement" in text
    assert "Issued by U.S. Department of Defense" in text and "6 January 2020" in text
    assert "Authentic" in text and "Document" in text


async def test_every_stored_string_is_escaped(anonymous_client, client):
    speaker = await create_person(client, name=f"Mallory {HOSTILE}")
    statement = await create_statement(client, speaker_id=speaker["id"], text=HOSTILE)
    await assess(client, "statement", statement["id"], "false", headline=f"Nope {HOSTILE}")
    response = await anonymous_client.get(f"/embed/statements/{statement['id']}")
    assert response.status_code == 200
    body = response.text
    assert "<script" not in body.lower() and "<img" not in body.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    page = parse(body)
    assert {tag for tag, _ in page.tags} <= {
        "html", "head", "meta", "title", "link", "style", "body", "article", "div", "span",
        "blockquote", "h1", "p", "time", "a",
    }  # fmt: skip
    # The hostile markup shows as text, in full: in the page title, the quote, the
    # speaker's name and the headline.
    text = "".join(page.text)
    assert text.count(HOSTILE) == 4


async def test_the_card_loads_nothing_from_anywhere(anonymous_client, client):
    statement = await create_statement(client)
    document = await create_document(client)
    for url in (f"/embed/statements/{statement['id']}", f"/embed/documents/{document['id']}"):
        body = (await anonymous_client.get(url)).text.lower()
        for external in ('src="http', "<script", "@import", "url(", "<iframe", "<img"):
            assert external not in body, (url, external)
        # The one <link> is oEmbed discovery (rel="alternate"), which browsers never fetch.
        links = [attrs for tag, attrs in parse(body).tags if tag == "link"]
        assert [link["rel"] for link in links] == ["alternate"], (url, links)


async def test_internal_deleted_and_missing_subjects_have_no_card(anonymous_client, client):
    leak = await create_document(client, visibility="internal")
    hidden = await create_statement(client, visibility="internal")
    for caller in (anonymous_client, client):
        for url in (
            f"/embed/documents/{leak['id']}",
            f"/embed/statements/{hidden['id']}",
            f"/embed/statements/{MISSING_ID}",
            f"/embed/documents/{hidden['id']}",
        ):
            assert_problem(await caller.get(url), 404)


async def test_the_card_names_up_to_three_corroborators_escaped(anonymous_client, client):
    statement = await create_statement(client)
    names = ["<b>Agence</b> France-Presse", "McClatchy", "Reuters", "The Washington Post"]
    outlets = [await create_organization(client, name=name) for name in names]

    async def card_after_confirmations_by(chosen: list[dict]) -> str:
        await assess(
            client,
            "statement",
            statement["id"],
            "true",
            evidence=[
                {"kind": "confirmation", "organization_id": o["id"], "stance": "supports"}
                for o in chosen
            ],
        )
        response = await anonymous_client.get(f"/embed/statements/{statement['id']}")
        assert response.status_code == 200, response.text
        assert "<b>" not in response.text  # a stored name is text, never markup
        return " ".join(parse(response.text).text)

    three = await card_after_confirmations_by(outlets[:3])
    assert "Corroborated by <b>Agence</b> France-Presse, McClatchy and Reuters" in three
    four = await card_after_confirmations_by(outlets)
    assert "Corroborated by <b>Agence</b> France-Presse, McClatchy, Reuters and 1 more" in four


async def test_the_card_links_its_oembed_answer_for_discovery(anonymous_client, client):
    statement = await create_statement(client)
    await assess(client, "statement", statement["id"], "true")
    card = await anonymous_client.get(f"/embed/statements/{statement['id']}")
    links = [attrs for tag, attrs in parse(card.text).tags if tag == "link"]
    discovery = [a for a in links if a.get("type") == "application/json+oembed"]
    assert len(discovery) == 1 and discovery[0]["rel"] == "alternate"
    href = discovery[0]["href"]
    assert href.startswith(f"{BASE_URL}/v1/oembed?")
    answer = await anonymous_client.get(href.removeprefix(BASE_URL))
    assert answer.status_code == 200, answer.text
    assert answer.json()["type"] == "rich"
    assert f"/embed/statements/{statement['id']}" in answer.json()["html"]
