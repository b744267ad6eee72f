import { describe, expect, it } from "vitest";

import { ApiError, asProblem, describeError, errorFromResponse } from "./problem";

function problem(status: number, body: unknown, type = "application/problem+json"): Response {
  return new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: { "Content-Type": type },
  });
}

describe("problem+json to a message", () => {
  it("uses the server's detail for rules it names", async () => {
    const error = await errorFromResponse(
      problem(422, { status: 422, code: "weak_password", detail: "Password is too common." }),
    );
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe("weak_password");
    expect(error.message).toBe("Password is too common.");
  });

  it("says what a person can do for codes whose detail is for developers", async () => {
    const error = await errorFromResponse(
      problem(412, { code: "version_conflict", detail: "If-Match does not match version 3" }),
    );
    expect(error.message).toMatch(/Someone else changed this item/);
  });

  it("lists validation errors by field, without the request body", async () => {
    const error = await errorFromResponse(
      problem(422, {
        code: "validation_error",
        detail: "Invalid request",
        errors: [{ loc: ["body", "price_cents"], msg: "must be at least 0", type: "ge" }],
      }),
    );
    expect(error.message).toBe("price cents: must be at least 0");
    expect(error.fieldErrors).toHaveLength(1);
  });

  it("copes with a body that is not JSON", async () => {
    const error = await errorFromResponse(problem(502, "<html>Bad gateway</html>", "text/html"));
    expect(error.status).toBe(502);
    expect(error.message).toBe("The server had a problem. Try again in a moment.");
  });

  it("reads a validation problem without errors like any other", async () => {
    const error = await errorFromResponse(
      problem(422, { code: "validation_error", detail: "Invalid request", errors: null }),
    );
    expect(error.message).toBe("Invalid request");
    expect(error.fieldErrors).toEqual([]);
  });

  it("takes a JSON body that is no object for no problem at all", async () => {
    const error = await errorFromResponse(problem(404, JSON.stringify("gone")));
    expect(error.code).toBe("http_404");
    expect(error.message).toBe("The request failed (HTTP 404).");
    expect(asProblem(null)).toEqual({});
    expect(asProblem(42)).toEqual({});
  });

  it("explains a network failure", () => {
    expect(describeError(new TypeError("Failed to fetch"))).toMatch(/Cannot reach the server/);
  });
});
