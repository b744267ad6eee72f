import { describe, expect, it } from "vitest";

import { unwrap } from "./client";
import { ApiError } from "./problem";

const answer = (status: number) => new Response(null, { status });

describe("unwrap", () => {
  it("returns the body of a success", async () => {
    await expect(unwrap(Promise.resolve({ data: { id: "o1" }, response: answer(200) }))).resolves.toEqual({ id: "o1" });
  });

  it("throws the problem+json answer as an ApiError with its code", async () => {
    const call = Promise.resolve({
      error: { status: 409, code: "slug_taken", title: "Conflict", detail: "The slug acme is taken." },
      response: answer(409),
    });
    const error: unknown = await unwrap(call).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(409);
    expect((error as ApiError).code).toBe("slug_taken");
    expect((error as ApiError).message).toBe("The slug acme is taken.");
  });

  it("throws on a failed status even when no body came back", async () => {
    const error: unknown = await unwrap(Promise.resolve({ response: answer(503) })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe("http_503");
  });
});
