/**
 * A typed client of the Verification Record API for front-end apps.
 *
 * The types come from the API's own OpenAPI document (`npm run generate` writes
 * `src/generated/schema.ts` from `openapi/openapi.json` with openapi-typescript);
 * the calls go through openapi-fetch, so every path, parameter, body and response is
 * checked by the compiler and nothing but `fetch` runs in the browser.
 */

import createClient, { type Client, type ClientOptions } from "openapi-fetch";

import type { components, operations, paths } from "./generated/schema.js";

export type { components, operations, paths };

/** Every schema of the API by name: `Schemas["StatementCreate"]`. */
export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];
export type Organization = Schemas["Organization"];
export type Person = Schemas["Person"];
export type Statement = Schemas["Statement"];
export type Document = Schemas["Document"];
export type Relation = Schemas["Relation"];
export type Assessment = Schemas["Assessment"];
export type StatementRecord = Schemas["StatementRecord"];
export type DocumentRecord = Schemas["DocumentRecord"];
export type SearchResults = Schemas["SearchResults"];

/** `client.GET("/v1/statements/{id}", ...)` and the other methods, typed by the API. */
export type RecordClient = Client<paths>;

export interface RecordClientOptions extends Omit<ClientOptions, "baseUrl"> {
  /** Where the API is served, without `/v1`: `https://record.example.org`. */
  baseUrl: string;
  /**
   * An API key (`vr_...`), sent as `Authorization: Bearer`. Leave it out in a browser:
   * published content needs none, and a page must never carry a key. `undefined`
   * (an unset environment variable) is the same as none.
   */
  apiKey?: string | undefined;
}

/** A client of the API at `baseUrl`, with `apiKey` on every request if given. */
export function createRecordClient({
  baseUrl,
  apiKey,
  ...options
}: RecordClientOptions): RecordClient {
  const client = createClient<paths>({ ...options, baseUrl });
  if (apiKey !== undefined) {
    client.use({
      onRequest({ request }) {
        request.headers.set("Authorization", `Bearer ${apiKey}`);
        return request;
      },
    });
  }
  return client;
}

/**
 * The `ETag` of a response, to send back as `If-Match` on `PATCH` or `DELETE`.
 * Every resource read and write answers with one; a response without it is a mistake
 * worth failing loudly on rather than a write sent unconditionally.
 */
export function etagOf(response: Response): string {
  const etag = response.headers.get("ETag");
  if (etag === null) {
    throw new Error(`${response.url} answered ${response.status} without an ETag`);
  }
  return etag;
}
