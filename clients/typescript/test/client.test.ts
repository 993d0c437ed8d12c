/**
 * The TypeScript client against a live server (tests/distribution/test_typescript_client.py
 * starts it): VR_BASE_URL is its address and VR_API_KEY an admin key. A front-end app
 * reads without a key; the newsroom's tools write with one.
 */

import assert from "node:assert/strict";
import { before, test } from "node:test";

import { createRecordClient, etagOf, type RecordClient } from "../src/index.js";

function environment(name: string): string {
  const value = process.env[name];
  assert.ok(value, `set ${name}`);
  return value;
}

const baseUrl = environment("VR_BASE_URL");
const editor = createRecordClient({ baseUrl, apiKey: environment("VR_API_KEY") });
// What a browser holds: no key.
const reader = createRecordClient({ baseUrl });

let statementId = "";
let documentId = "";

before(async () => {
  const ministry = await editor.POST("/v1/organizations", {
    body: { name: "Department of Defense", kind: "government" },
  });
  assert.equal(ministry.response.status, 201, JSON.stringify(ministry.error));
  const speaker = await editor.POST("/v1/people", { body: { name: "Mark Esper" } });
  assert.ok(speaker.data, JSON.stringify(speaker.error));
  const statement = await editor.POST("/v1/statements", {
    body: {
      speaker_id: speaker.data.id,
      text: "There's been no decision whatsoever to leave Iraq.",
      medium: "press_briefing",
    },
  });
  assert.ok(statement.data, JSON.stringify(statement.error));
  statementId = statement.data.id;
  const document = await editor.POST("/v1/documents", {
    body: {
      title: "Letter to the Iraqi Ministry of Defense",
      kind: "letter",
      issuer_id: ministry.data?.id ?? null,
    },
  });
  assert.ok(document.data, JSON.stringify(document.error));
  documentId = document.data.id;
});

test("lists statements and documents without a key", async () => {
  const statements = await reader.GET("/v1/statements", { params: { query: { limit: 10 } } });
  assert.equal(statements.response.status, 200);
  assert.deepEqual(
    statements.data?.items.map((statement) => statement.id),
    [statementId],
  );
  assert.equal(statements.data?.next_cursor, null);
  const documents = await reader.GET("/v1/documents");
  assert.deepEqual(
    documents.data?.items.map((document) => [document.id, document.kind]),
    [[documentId, "letter"]],
  );
});

test("searches statements and documents", async () => {
  const { data, error } = await reader.GET("/v1/search", {
    params: { query: { q: "decision whatsoever" } },
  });
  assert.equal(error, undefined);
  assert.deepEqual(
    data?.items.map((hit) => [hit.type, hit.id]),
    [["statement", statementId]],
  );
  assert.match(data?.items[0]?.snippet ?? "", /decision/);
});

test("reads a document's record", async () => {
  const { data, response } = await reader.GET("/v1/documents/{id}/record", {
    params: { path: { id: documentId } },
  });
  assert.equal(response.status, 200);
  assert.equal(data?.subject.id, documentId);
  assert.equal(data?.subject.title, "Letter to the Iraqi Ministry of Defense");
  assert.equal(data?.subject.verification.status, "unassessed");
  assert.deepEqual(data?.assessments, []);
});

let staleEtag = "";

test("changes a document with If-Match: the ETag just read", async () => {
  const read = await editor.GET("/v1/documents/{id}", { params: { path: { id: documentId } } });
  assert.equal(read.data?.version, 1);
  staleEtag = etagOf(read.response);
  const changed = await editor.PATCH("/v1/documents/{id}", {
    params: { path: { id: documentId }, header: { "If-Match": staleEtag } },
    body: { summary: "Drafted by the task force; sent by mistake." },
  });
  assert.equal(changed.response.status, 200, JSON.stringify(changed.error));
  assert.equal(changed.data?.version, 2);
  assert.equal(changed.data?.summary, "Drafted by the task force; sent by mistake.");
  assert.notEqual(etagOf(changed.response), staleEtag);
});

test("a stale ETag is 412, as a problem, and changes nothing", async () => {
  assert.ok(staleEtag, "the test before took the ETag of version 1");
  const refused = await editor.PATCH("/v1/documents/{id}", {
    params: { path: { id: documentId }, header: { "If-Match": staleEtag } },
    body: { summary: "A lost update" },
  });
  assert.equal(refused.response.status, 412);
  assert.equal(refused.data, undefined);
  assert.equal(refused.error?.status, 412);
  assert.match(refused.response.headers.get("Content-Type") ?? "", /^application\/problem\+json/);
  const now = await reader.GET("/v1/documents/{id}", { params: { path: { id: documentId } } });
  assert.equal(now.data?.version, 2);
  assert.equal(now.data?.summary, "Drafted by the task force; sent by mistake.");
});

test("a write without a key is 401", async () => {
  const { error, response } = await reader.POST("/v1/people", { body: { name: "Nobody" } });
  assert.equal(response.status, 401);
  assert.equal(error?.status, 401);
});

/**
 * Never called: each line is a mistake that `tsc --noEmit` must refuse (a directive
 * that finds no error is itself an error), so the client is typed, not `any`.
 */
export function mistakesDoNotCompile(client: RecordClient): void {
  // @ts-expect-error: there is no /v1/statement
  void client.GET("/v1/statement");
  // @ts-expect-error: a statement's text is a string
  void client.POST("/v1/statements", { body: { speaker_id: statementId, text: 42 } });
  void client.PATCH("/v1/documents/{id}", {
    params: { path: { id: documentId } },
    // @ts-expect-error: a document's kind is one of the API's kinds
    body: { kind: "novel" },
  });
  // @ts-expect-error: a record's path needs the id
  void client.GET("/v1/documents/{id}/record");
}
