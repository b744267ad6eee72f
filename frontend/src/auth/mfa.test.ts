import { describe, expect, it } from "vitest";

import { mfaChallengeFrom, normaliseTotp } from "./mfa";

describe("mfaChallengeFrom", () => {
  it("reads the token and factors of a 401 mfa_required problem", () => {
    const body = { status: 401, code: "mfa_required", mfa_token: "tok", factors: ["totp", "recovery_code"] };
    expect(mfaChallengeFrom(401, body)).toEqual({ mfaToken: "tok", factors: ["totp", "recovery_code"] });
  });

  it("is null for other refusals, other statuses and bodies without a token", () => {
    expect(mfaChallengeFrom(401, { code: "invalid_credentials" })).toBeNull();
    expect(mfaChallengeFrom(403, { code: "mfa_required", mfa_token: "tok" })).toBeNull();
    expect(mfaChallengeFrom(401, { code: "mfa_required" })).toBeNull();
    expect(mfaChallengeFrom(401, { code: "mfa_required", mfa_token: "" })).toBeNull();
    expect(mfaChallengeFrom(401, null)).toBeNull();
    expect(mfaChallengeFrom(401, "mfa_required")).toBeNull();
  });

  it("keeps only string factor kinds", () => {
    expect(mfaChallengeFrom(401, { code: "mfa_required", mfa_token: "t", factors: ["totp", 3, null] })).toEqual({
      mfaToken: "t",
      factors: ["totp"],
    });
    expect(mfaChallengeFrom(401, { code: "mfa_required", mfa_token: "t" })?.factors).toEqual([]);
  });
});

describe("normaliseTotp", () => {
  it("drops spaces and dashes people type or paste", () => {
    expect(normaliseTotp(" 123 456 ")).toBe("123456");
    expect(normaliseTotp("123-456")).toBe("123456");
  });
});
