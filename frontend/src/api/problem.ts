/**
 * Errors of the API are problem+json (RFC 9457) with a stable `code`. This turns any failure
 * — a problem body, another body, or no answer at all — into one message a person can act on.
 */

import type { components } from "./schema";

/** One entry of a validation problem's `errors`: where, what, and which rule. */
export type FieldError = components["schemas"]["ErrorItem"];

/**
 * The problem+json body as the schema describes it. Every field is optional here: a proxy
 * or an old server may answer with part of it, or with no problem body at all.
 */
export type Problem = Partial<components["schemas"]["Problem"]>;

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fieldErrors: FieldError[];

  constructor(status: number, problem: Problem) {
    super(messageFor(status, problem));
    this.name = "ApiError";
    this.status = status;
    this.code = problem.code ?? `http_${status}`;
    this.fieldErrors = problem.errors ?? [];
  }
}

/** Messages for codes whose server `detail` is written for developers, not for people. */
const FRIENDLY: Record<string, string> = {
  invalid_credentials: "The email or password is not right.",
  too_many_attempts: "Too many attempts. Wait a moment and try again.",
  email_taken: "An account with this email already exists. Try signing in instead.",
  email_not_verified: "Verify your email address first: follow the link we mailed you.",
  invalid_token: "This link is invalid or has expired. Ask for a new one.",
  version_conflict:
    "Someone else changed this item after you opened it, so nothing was saved. Compare with their version and choose which to keep.",
  not_authenticated: "Your session has ended. Sign in again.",
  forbidden: "You do not have permission to do that.",
  not_found: "Not found — it may have been deleted, or you may no longer have access.",
  invalid_mfa_code: "That code is not right. Check your authenticator app and try again.",
  invalid_mfa_token: "This sign-in attempt has expired or used up its tries. Start again with your password.",
  step_up_required: "Confirm it is you first.",
  csrf_failed: "The request was refused as a possible cross-site forgery. Reload the page.",
};

function messageFor(status: number, problem: Problem): string {
  const code = problem.code ?? "";
  if (code === "validation_error" && problem.errors?.length) {
    return problem.errors.map((error) => `${fieldName(error)}: ${error.msg}`).join(" ");
  }
  // Password rules, slug and sku conflicts: the server's detail names the rule or field.
  if (problem.detail && !(code in FRIENDLY)) return problem.detail;
  if (code in FRIENDLY) return FRIENDLY[code] as string;
  if (status >= 500) return "The server had a problem. Try again in a moment.";
  return problem.title ?? `The request failed (HTTP ${status}).`;
}

function fieldName(error: FieldError): string {
  const path = error.loc.filter((part) => part !== "body");
  return path.length ? path.join(".").replaceAll("_", " ") : "Request";
}

/** A body of unknown shape as a problem: an object's fields are read, anything else is none. */
export function asProblem(body: unknown): Problem {
  return body !== null && typeof body === "object" ? body : {};
}

/** Read a failed response into an ApiError, whatever its body holds. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  let problem: Problem = {};
  try {
    problem = asProblem(await response.clone().json());
  } catch {
    // Not JSON (a proxy's HTML page, say): the status alone must do.
  }
  return new ApiError(response.status, problem);
}

export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return "Cannot reach the server. Check your connection.";
  return error instanceof Error ? error.message : "Something went wrong.";
}
