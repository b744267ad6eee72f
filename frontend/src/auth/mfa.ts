/**
 * The sign-in's second step (DESIGN.md §10): what a `401 mfa_required` answer of
 * /auth/login carries, read from its problem+json body.
 */

/** A pending challenge: the opaque single-use token and the kinds of proof accepted. */
export interface MfaChallenge {
  mfaToken: string;
  factors: string[];
}

/** The challenge in a login refusal, or null when the refusal is anything else. */
export function mfaChallengeFrom(status: number, body: unknown): MfaChallenge | null {
  if (status !== 401 || body === null || typeof body !== "object") return null;
  const problem = body as Record<string, unknown>;
  if (problem.code !== "mfa_required" || typeof problem.mfa_token !== "string" || !problem.mfa_token) {
    return null;
  }
  const factors = Array.isArray(problem.factors)
    ? problem.factors.filter((factor): factor is string => typeof factor === "string")
    : [];
  return { mfaToken: problem.mfa_token, factors };
}

/** A TOTP code as typed or pasted ("123 456", "123-456") down to its digits. */
export function normaliseTotp(input: string): string {
  return input.replace(/[\s-]/g, "");
}
