import createClient from "openapi-fetch";

import { auth } from "../auth";
import { ApiError, asProblem } from "./problem";
import type { components, paths } from "./schema";

/**
 * The typed API client: paths, parameters and bodies are checked against the service's
 * OpenAPI document at build time. Every call goes through the session's `fetch`, which
 * attaches the access token and refreshes it once on a 401.
 */
export const api = createClient<paths>({
  baseUrl: window.location.origin,
  fetch: (request) => auth.fetch(request),
});

export type Schemas = components["schemas"];

type Result = { data?: unknown; error?: unknown; response: Response };

/** The body of a successful call, or an ApiError built from the problem+json answer. */
export async function unwrap<R extends Result>(call: Promise<R>): Promise<Exclude<R["data"], undefined>> {
  const { data, error, response } = await call;
  if (!response.ok || error !== undefined) {
    throw new ApiError(response.status, asProblem(error));
  }
  return data as Exclude<R["data"], undefined>;
}
