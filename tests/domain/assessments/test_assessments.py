"""Assessments through HTTP: create and read drafts with evidence, the rules a draft must
follow (verdict fits the subject, references exist and are live, evidence has what its
kind needs), PATCH of drafts, DELETE, history, lists and their filters; every refused
write leaves the database untouched."""

from __future__ import annotations

from uuid import UUID

import pytest

from tests.domain.assessments import (
    URL,
    assert_rejected,
    create_assessment,
    create_subject,
    default_verdict,
    publish_ok,
    snapshot,
)
from tests.helpers import (
    BASE_URL,
    JSON,
    MISSING_ID,
    all_ids,
    assert_conditional_get,
    assert_problem,
    create_organization,
    create_statement,
    delete,
    etag_of,
    history,
    list_ids,
    patch,
)

pytestmark = pytest.mark.asyncio

STATEMENT_VERDICTS = [
    "true", "mostly_true", "mixed", "misleading", "mostly_false", "false", "unverifiable",
]  # fmt: skip
DOCUMENT_VERDICTS = [
    "authentic", "likely_authentic", "unverified", "disputed", "altered", "fabricated",
]  # fmt: skip


# ---- create and read ----------------------------------------------------------------------


async def test_create_a_draft_with_evidence_of_every_kind(client):
    subject = await create_subject(client, "document")
    denial = await create_statement(client)
    other_document = await create_subject(client, "document")
    reuters = await create_organization(client, name="Reuters", kind="news_outlet")
    newsroom = await create_organization(client, name="The Newsroom", kind="news_outlet")
    evidence = [
        {
            "kind": "confirmation",
            "organization_id": reuters["id"],
            "url": "https://www.reuters.com/world/letter-genuine",
            "note": "Two officials confirmed it to Reuters",
        },
        {"kind": "statement", "statement_id": denial["id"], "stance": "refutes"},
        {"kind": "document", "document_id": other_document["id"], "stance": "context"},
        {"kind": "url", "url": "https://archive.example/letter.pdf"},
    ]
    sent = {
        "subject": subject,
        "verdict": "authentic",
        "headline": "The leaked letter is authentic",
        "explanation": "The ministry received it; the Pentagon called it a draft.",
        "url": "https://news.example/fact-check/letter",
        "author_organization_id": newsroom["id"],
        "evidence": evidence,
    }
    response = await client.post(URL, json=sent)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith(JSON)
    body = response.json()
    UUID(body["id"])
    assert response.headers["location"] == f"{BASE_URL}{URL}/{body['id']}"
    assert response.headers["etag"].startswith('"')
    empty_evidence = {
        "url": None,
        "statement_id": None,
        "document_id": None,
        "organization_id": None,
        "stance": "supports",
        "note": None,
    }
    assert body == {
        **{k: v for k, v in sent.items() if k != "evidence"},
        "id": body["id"],
        "evidence": [{**empty_evidence, **item} for item in evidence],
        "state": "draft",
        "published_at": None,
        "retracted_at": None,
        "retraction_reason": None,
        "supersedes_id": None,
        "version": 1,
        "created_at": body["created_at"],
        "updated_at": body["created_at"],
    }
    got = await client.get(f"{URL}/{body['id']}")
    assert got.json() == body
    assert got.headers["etag"] == response.headers["etag"]
    [event] = await history(client, f"{URL}/{body['id']}")
    assert (event["action"], event["version"], event["resource_type"]) == (
        "created",
        1,
        "assessment",
    )


async def test_create_with_only_the_required_fields(client):
    subject = await create_subject(client, "statement")
    response = await client.post(
        URL, json={"subject": subject, "verdict": "mostly_false", "headline": "Not quite"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["explanation"], body["url"], body["author_organization_id"]) == (None, None, None)
    assert (body["evidence"], body["state"], body["subject"]) == ([], "draft", subject)


@pytest.mark.parametrize(
    ("subject_type", "verdict"),
    [("statement", v) for v in STATEMENT_VERDICTS] + [("document", v) for v in DOCUMENT_VERDICTS],
)
async def test_every_verdict_fits_its_own_subject_type(client, subject_type, verdict):
    subject = await create_subject(client, subject_type)
    assert (await create_assessment(client, subject, verdict=verdict))["verdict"] == verdict


async def test_get_answers_304_to_a_matching_if_none_match(client):
    draft = await create_assessment(client, await create_subject(client, "statement"))
    await assert_conditional_get(client, f"{URL}/{draft['id']}")


@pytest.mark.parametrize("id", [MISSING_ID, "not-a-uuid"])
async def test_get_of_an_unknown_or_malformed_id_is_a_404_problem(client, id):
    assert_problem(await client.get(f"{URL}/{id}"), 404)


# ---- what a create must satisfy -------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject_type", "verdict"),
    [
        ("statement", "authentic"),
        ("statement", "fabricated"),
        ("document", "false"),
        ("document", "mostly_true"),
    ],
)
async def test_a_verdict_that_does_not_fit_the_subject_is_422(client, db, subject_type, verdict):
    subject = await create_subject(client, subject_type)
    body = {"subject": subject, "verdict": verdict, "headline": "Wrong vocabulary"}
    problem = await assert_rejected(client, db, "POST", URL, json=body, field="verdict")
    assert subject_type in problem["detail"]


async def test_a_missing_subject_is_422(client, db):
    await create_subject(client, "statement")  # something in the tables to stay untouched
    for subject_type, verdict in (("statement", "false"), ("document", "authentic")):
        body = {
            "subject": {"type": subject_type, "id": MISSING_ID},
            "verdict": verdict,
            "headline": "About nothing",
        }
        await assert_rejected(client, db, "POST", URL, json=body, field="subject.id")


async def test_a_deleted_subject_is_422(client, db):
    for subject_type in ("statement", "document"):
        subject = await create_subject(client, subject_type)
        await delete(client, f"/v1/{subject_type}s/{subject['id']}")
        body = {"subject": subject, "verdict": default_verdict(subject), "headline": "Gone"}
        await assert_rejected(client, db, "POST", URL, json=body, field="subject.id")


async def test_a_subject_of_the_wrong_type_is_422(client, db):
    statement = await create_subject(client, "statement")
    body = {
        "subject": {"type": "document", "id": statement["id"]},
        "verdict": "authentic",
        "headline": "A statement is not a document",
    }
    await assert_rejected(client, db, "POST", URL, json=body, field="subject.id")


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"kind": "url"}, "evidence[0].url"),
        ({"kind": "statement", "url": "https://a.example"}, "evidence[0].statement_id"),
        ({"kind": "document", "statement_id": MISSING_ID}, "evidence[0].document_id"),
        ({"kind": "confirmation", "url": "https://a.example"}, "evidence[0].organization_id"),
    ],
)
async def test_evidence_without_the_field_its_kind_needs_is_422(client, db, item, field):
    subject = await create_subject(client, "statement")
    body = {"subject": subject, "verdict": "false", "headline": "H", "evidence": [item]}
    await assert_rejected(client, db, "POST", URL, json=body, field=field)


async def test_evidence_and_author_must_name_live_resources(client, db):
    subject = await create_subject(client, "statement")
    org = await create_organization(client)
    deleted_statement = await create_statement(client)
    await delete(client, f"/v1/statements/{deleted_statement['id']}")
    body = {
        "subject": subject,
        "verdict": "false",
        "headline": "H",
        "author_organization_id": MISSING_ID,
        "evidence": [
            {"kind": "confirmation", "organization_id": org["id"]},  # fine
            {"kind": "confirmation", "organization_id": MISSING_ID},
            {"kind": "statement", "statement_id": deleted_statement["id"]},
            {"kind": "document", "document_id": subject["id"]},  # a statement's id
        ],
    }
    problem = await assert_rejected(client, db, "POST", URL, json=body)
    assert sorted(e["field"] for e in problem["errors"]) == [
        "author_organization_id",
        "evidence[1].organization_id",
        "evidence[2].statement_id",
        "evidence[3].document_id",
    ]


async def test_a_headline_of_120_characters_is_accepted_and_121_is_422(client, db):
    subject = await create_subject(client, "statement")
    assert (await create_assessment(client, subject, headline="x" * 120))["headline"] == "x" * 120
    body = {"subject": subject, "verdict": "false", "headline": "é" * 121}
    await assert_rejected(client, db, "POST", URL, json=body, field="headline")


BAD_BODIES = [
    pytest.param({"bogus": 1}, "bogus", id="unknown-field"),
    pytest.param({"id": MISSING_ID}, "id", id="read-only-id"),
    pytest.param({"version": 1}, "version", id="read-only-version"),
    pytest.param({"state": "published"}, "state", id="read-only-state"),
    pytest.param(
        {"published_at": "2020-01-01T00:00:00Z"}, "published_at", id="read-only-published_at"
    ),
    pytest.param(
        {"retracted_at": "2020-01-01T00:00:00Z"}, "retracted_at", id="read-only-retracted_at"
    ),
    pytest.param({"retraction_reason": "x"}, "retraction_reason", id="read-only-retraction_reason"),
    pytest.param({"created_at": "2020-01-01T00:00:00Z"}, "created_at", id="read-only-created_at"),
    pytest.param({"headline": ""}, "headline", id="headline-empty"),
    pytest.param({"headline": " \t "}, "headline", id="headline-blank"),
    pytest.param({"headline": "x" * 121}, "headline", id="headline-too-long"),
    pytest.param({"headline": 5}, "headline", id="headline-number"),
    pytest.param({"verdict": "pants_on_fire"}, "verdict", id="verdict-unknown"),
    pytest.param({"verdict": "FALSE"}, "verdict", id="verdict-wrong-case"),
    pytest.param({"url": "news.example/check"}, "url", id="url-no-scheme"),
    pytest.param({"url": "javascript:alert(1)"}, "url", id="url-javascript"),
    pytest.param(
        {"author_organization_id": "nope"}, "author_organization_id", id="author-not-uuid"
    ),
    pytest.param({"evidence": {"kind": "url"}}, "evidence", id="evidence-not-list"),
    pytest.param(
        {"evidence": [{"kind": "rumour", "url": "https://a.example"}]},
        "evidence[0].kind",
        id="evidence-kind-unknown",
    ),
    pytest.param(
        {"evidence": [{"kind": "url", "url": "https://a.example", "stance": "agrees"}]},
        "evidence[0].stance",
        id="evidence-stance-unknown",
    ),
    pytest.param(
        {"evidence": [{"kind": "url", "url": "ftp://a.example"}]},
        "evidence[0].url",
        id="evidence-url-ftp",
    ),
    pytest.param(
        {"evidence": [{"kind": "url", "url": "https://a.example", "weight": 1}]},
        "evidence[0].weight",
        id="evidence-unknown-field",
    ),
    pytest.param(
        {"evidence": [{"url": "https://a.example"}]}, "evidence[0].kind", id="evidence-without-kind"
    ),
    pytest.param({"supersedes_id": "nope"}, "supersedes_id", id="supersedes-not-uuid"),
]


@pytest.mark.parametrize(("fields", "field"), BAD_BODIES)
async def test_create_rejects_bad_input_and_changes_nothing(client, db, fields, field):
    subject = await create_subject(client, "statement")
    body = {"subject": subject, "verdict": "false", "headline": "H", **fields}
    await assert_rejected(client, db, "POST", URL, json=body, field=field)


@pytest.mark.parametrize(
    ("subject", "field"),
    [
        ({"type": "relation", "id": MISSING_ID}, "subject.type"),
        ({"type": "statement"}, "subject.id"),
        ({"type": "statement", "id": MISSING_ID, "extra": 1}, "subject.extra"),
        (None, "subject"),
    ],
)
async def test_create_rejects_a_malformed_subject(client, db, subject, field):
    body = {"subject": subject, "verdict": "false", "headline": "H"}
    await assert_rejected(client, db, "POST", URL, json=body, field=field)


@pytest.mark.parametrize("missing", ["subject", "verdict", "headline"])
async def test_create_requires_subject_verdict_and_headline(client, db, missing):
    subject = await create_subject(client, "statement")
    body = {"subject": subject, "verdict": "false", "headline": "H"}
    del body[missing]
    await assert_rejected(client, db, "POST", URL, json=body, field=missing)


# ---- supersedes_id ------------------------------------------------------------------------------


async def test_supersedes_id_must_name_a_live_assessment_of_the_same_subject(client, db):
    subject = await create_subject(client, "statement")
    elsewhere = await create_assessment(client, await create_subject(client, "statement"))
    deleted = await create_assessment(client, subject)
    await delete(client, f"{URL}/{deleted['id']}")
    for supersedes_id in (elsewhere["id"], MISSING_ID, deleted["id"]):
        body = {
            "subject": subject,
            "verdict": "false",
            "headline": "H",
            "supersedes_id": supersedes_id,
        }
        await assert_rejected(client, db, "POST", URL, json=body, field="supersedes_id")
    earlier = await create_assessment(client, subject)
    later = await create_assessment(client, subject, supersedes_id=earlier["id"])
    assert later["supersedes_id"] == earlier["id"]


async def test_patch_can_set_and_clear_supersedes_id_on_a_draft(client, db):
    subject = await create_subject(client, "document")
    earlier = await publish_ok(client, (await create_assessment(client, subject))["id"])
    draft = await create_assessment(client, subject)
    url = f"{URL}/{draft['id']}"
    body = (await patch(client, url, {"supersedes_id": earlier["id"]})).json()
    assert (body["supersedes_id"], body["version"]) == (earlier["id"], 2)
    other = await create_assessment(client, await create_subject(client, "document"))
    for bad in (other["id"], draft["id"], MISSING_ID):
        headers = {"If-Match": await etag_of(client, url)}
        await assert_rejected(
            client,
            db,
            "PATCH",
            url,
            json={"supersedes_id": bad},
            headers=headers,
            field="supersedes_id",
        )
    body = (await patch(client, url, {"supersedes_id": None})).json()
    assert (body["supersedes_id"], body["version"]) == (None, 3)


# ---- patch ------------------------------------------------------------------------------------


async def test_patch_a_draft_with_if_match(client):
    subject = await create_subject(client, "statement")
    org = await create_organization(client)
    draft = await create_assessment(
        client, subject, evidence=[{"kind": "url", "url": "https://a.example"}]
    )
    url = f"{URL}/{draft['id']}"
    etag = await etag_of(client, url)
    changes = {
        "verdict": "misleading",
        "headline": "Misleading, on balance",
        "explanation": "It leaves out the second paragraph.",
        "evidence": [
            {"kind": "confirmation", "organization_id": org["id"], "stance": "refutes"},
            {"kind": "url", "url": "https://b.example", "note": "the full text"},
        ],
    }
    response = await client.patch(url, json=changes, headers={"If-Match": etag})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["verdict"], body["headline"], body["explanation"]) == (
        "misleading",
        "Misleading, on balance",
        "It leaves out the second paragraph.",
    )
    assert [(e["kind"], e["stance"]) for e in body["evidence"]] == [
        ("confirmation", "refutes"),
        ("url", "supports"),
    ]
    assert (body["version"], body["state"], body["subject"]) == (2, "draft", subject)
    assert response.headers["etag"] != etag
    got = await client.get(url)
    assert (got.json(), got.headers["etag"]) == (body, response.headers["etag"])
    events = await history(client, url)
    assert [(e["action"], e["version"]) for e in events] == [("created", 1), ("updated", 2)]
    assert events[1]["changed_fields"] == ["evidence", "explanation", "headline", "verdict"]


async def test_patch_of_only_the_evidence_bumps_the_version(client):
    draft = await create_assessment(client, await create_subject(client, "statement"))
    url = f"{URL}/{draft['id']}"
    body = (
        await patch(client, url, {"evidence": [{"kind": "url", "url": "https://a.example"}]})
    ).json()
    assert (len(body["evidence"]), body["version"]) == (1, 2)
    body = (await patch(client, url, {"evidence": []})).json()
    assert (body["evidence"], body["version"]) == ([], 3)


async def test_patch_that_changes_nothing_writes_nothing(client, db):
    draft = await create_assessment(client, await create_subject(client, "statement"))
    url = f"{URL}/{draft['id']}"
    etag = await etag_of(client, url)
    before = await snapshot(db)
    response = await client.patch(
        url, json={"headline": draft["headline"], "evidence": []}, headers={"If-Match": etag}
    )
    assert response.status_code == 200, response.text
    assert (response.json(), response.headers["etag"]) == (draft, etag)
    assert await snapshot(db) == before


@pytest.mark.parametrize(
    ("subject_type", "verdict"), [("statement", "authentic"), ("document", "mostly_false")]
)
async def test_patch_to_a_verdict_that_does_not_fit_the_subject_is_422(
    client, db, subject_type, verdict
):
    draft = await create_assessment(client, await create_subject(client, subject_type))
    url = f"{URL}/{draft['id']}"
    headers = {"If-Match": await etag_of(client, url)}
    await assert_rejected(
        client, db, "PATCH", url, json={"verdict": verdict}, headers=headers, field="verdict"
    )


async def test_the_subject_cannot_be_changed(client, db):
    draft = await create_assessment(client, await create_subject(client, "statement"))
    other = await create_subject(client, "statement")
    url = f"{URL}/{draft['id']}"
    headers = {"If-Match": await etag_of(client, url)}
    await assert_rejected(
        client, db, "PATCH", url, json={"subject": other}, headers=headers, field="subject"
    )


async def test_patch_requires_a_current_if_match(client, db):
    draft = await create_assessment(client, await create_subject(client, "statement"))
    url = f"{URL}/{draft['id']}"
    stale = await etag_of(client, url)
    await assert_rejected(client, db, "PATCH", url, status=428, json={"headline": "New"})
    assert (await patch(client, url, {"headline": "Newer"})).status_code == 200
    await assert_rejected(
        client, db, "PATCH", url, status=412, json={"headline": "Mine"}, headers={"If-Match": stale}
    )
    assert (await client.get(url)).json()["headline"] == "Newer"


@pytest.mark.parametrize(
    ("fields", "field"),
    [p for p in BAD_BODIES if p.id not in {"supersedes-not-uuid"}]
    + [
        pytest.param({"headline": None}, "headline", id="headline-null"),
        pytest.param({"verdict": None}, "verdict", id="verdict-null"),
        pytest.param({"evidence": None}, "evidence", id="evidence-null"),
        pytest.param({"evidence": [{"kind": "url"}]}, "evidence[0].url", id="evidence-kind-field"),
    ],
)
async def test_patch_rejects_bad_input_and_changes_nothing(client, db, fields, field):
    draft = await create_assessment(client, await create_subject(client, "statement"))
    url = f"{URL}/{draft['id']}"
    headers = {"If-Match": await etag_of(client, url)}
    await assert_rejected(client, db, "PATCH", url, json=fields, headers=headers, field=field)


async def test_patch_rejects_references_to_missing_resources(client, db):
    draft = await create_assessment(client, await create_subject(client, "statement"))
    url = f"{URL}/{draft['id']}"
    headers = {"If-Match": await etag_of(client, url)}
    body = {
        "author_organization_id": MISSING_ID,
        "evidence": [{"kind": "statement", "statement_id": MISSING_ID}],
    }
    problem = await assert_rejected(client, db, "PATCH", url, json=body, headers=headers)
    assert sorted(e["field"] for e in problem["errors"]) == [
        "author_organization_id",
        "evidence[0].statement_id",
    ]


# ---- delete and history ----------------------------------------------------------------------


async def test_delete_a_draft_is_soft_and_leaves_history(client, db):
    subject = await create_subject(client, "statement")
    draft = await create_assessment(client, subject)
    kept = await create_assessment(client, subject)
    url = f"{URL}/{draft['id']}"
    await assert_rejected(client, db, "DELETE", url, status=428)
    await assert_rejected(client, db, "DELETE", url, status=412, headers={"If-Match": '"stale"'})
    response = await client.delete(url, headers={"If-Match": await etag_of(client, url)})
    assert response.status_code == 204, response.text
    assert_problem(await client.get(url), 404)
    assert await all_ids(client, URL) == [kept["id"]]
    assert await list_ids(client, URL, subject_id=subject["id"]) == [kept["id"]]
    assert [(e["action"], e["version"]) for e in await history(client, url)] == [
        ("created", 1),
        ("deleted", 2),
    ]
    assert await db.fetchval(
        "SELECT deleted_at IS NOT NULL FROM assessments WHERE id = $1", UUID(draft["id"])
    )
    await assert_rejected(client, db, "DELETE", url, status=404, headers={"If-Match": "*"})
    await assert_rejected(
        client, db, "PATCH", url, status=404, json={"headline": "X"}, headers={"If-Match": "*"}
    )
    await assert_rejected(client, db, "POST", f"{url}/publish", status=404)


async def test_history_of_an_unknown_id_is_404(client):
    assert_problem(await client.get(f"{URL}/{MISSING_ID}/history"), 404)
    statement = await create_statement(client)
    assert_problem(await client.get(f"{URL}/{statement['id']}/history"), 404)


# ---- lists --------------------------------------------------------------------------------------


async def test_list_is_newest_first_and_pages(client):
    subject = await create_subject(client, "statement")
    created = [
        (await create_assessment(client, subject, headline=f"Take {i}"))["id"] for i in range(5)
    ]
    first = (await client.get(URL, params={"limit": 2})).json()
    assert set(first) == {"items", "next_cursor"}
    assert [a["id"] for a in first["items"]] == created[::-1][:2]
    assert await all_ids(client, URL, limit=2) == created[::-1]
    [item] = (await client.get(URL, params={"limit": 1})).json()["items"]
    assert item == (await client.get(f"{URL}/{created[-1]}")).json()


async def test_list_filters_by_subject_state_verdict_and_text(client):
    statement = await create_subject(client, "statement")
    document = await create_subject(client, "document")
    on_statement = await create_assessment(
        client,
        statement,
        verdict="false",
        headline="No withdrawal was ordered",
        explanation="The Pentagon denied any decision to leave Iraq.",
    )
    on_document = await create_assessment(
        client, document, verdict="authentic", headline="The letter is genuine"
    )
    published = await publish_ok(
        client,
        (await create_assessment(client, document, verdict="altered", headline="Edited copy"))[
            "id"
        ],
    )

    assert await list_ids(client, URL, subject_id=statement["id"]) == [on_statement["id"]]
    assert await list_ids(client, URL, subject_id=document["id"]) == [
        published["id"],
        on_document["id"],
    ]
    assert await list_ids(client, URL, subject_id=MISSING_ID) == []
    assert await list_ids(client, URL, state="published") == [published["id"]]
    assert await list_ids(client, URL, state="draft") == [on_document["id"], on_statement["id"]]
    assert await list_ids(client, URL, state="retracted") == []
    assert await list_ids(client, URL, verdict="authentic") == [on_document["id"]]
    assert await list_ids(client, URL, verdict="false", subject_id=statement["id"]) == [
        on_statement["id"]
    ]
    assert await list_ids(client, URL, verdict="false", state="published") == []
    # Full text over headline and explanation, with English stemming.
    assert await list_ids(client, URL, q="withdrawals") == [on_statement["id"]]
    assert await list_ids(client, URL, q="pentagon denied") == [on_statement["id"]]
    assert await list_ids(client, URL, q='"letter is genuine"') == [on_document["id"]]
    assert await list_ids(client, URL, q="letter -genuine") == []
    assert await list_ids(client, URL, q="copy OR withdrawal") == [
        published["id"],
        on_statement["id"],
    ]
    assert await list_ids(client, URL, q="zebra") == []


async def test_list_filters_by_updated_since(client):
    subject = await create_subject(client, "statement")
    a = await create_assessment(client, subject)
    b = await create_assessment(client, subject)
    changed = (await patch(client, f"{URL}/{a['id']}", {"headline": "Changed"})).json()
    assert await list_ids(client, URL, updated_since=changed["updated_at"]) == [a["id"]]
    assert set(await list_ids(client, URL, updated_since=b["updated_at"])) == {a["id"], b["id"]}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"cursor": "garbage"}, "cursor"),
        ({"state": "pending"}, "state"),
        ({"verdict": "pants_on_fire"}, "verdict"),
        ({"subject_id": "nope"}, "subject_id"),
        ({"updated_since": "yesterday"}, "updated_since"),
    ],
)
async def test_list_rejects_bad_parameters(client, params, field):
    assert_problem(await client.get(URL, params=params), 422, field=field)
