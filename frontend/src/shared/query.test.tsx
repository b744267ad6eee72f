import { QueryClientProvider, useQuery } from "@tanstack/react-query";
import { act, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { ApiError } from "../api/problem";
import { createQueryClient, shouldRetry } from "./query";

describe("retries", () => {
  it("never repeats a request the server refused with a 4xx problem", () => {
    for (const status of [400, 401, 403, 404, 409, 422, 429]) {
      expect(shouldRetry(0, new ApiError(status, { code: "x" }))).toBe(false);
    }
  });

  it("asks once more after a server error or a network failure, then gives up", () => {
    expect(shouldRetry(0, new ApiError(503, {}))).toBe(true);
    expect(shouldRetry(0, new TypeError("Failed to fetch"))).toBe(true);
    expect(shouldRetry(1, new ApiError(503, {}))).toBe(false);
    expect(shouldRetry(1, new TypeError("Failed to fetch"))).toBe(false);
  });
});

describe("the query client", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("shows an answer in a tab whose timers are frozen (a sleeping laptop)", async () => {
    const client = createQueryClient();
    vi.useFakeTimers(); // from here on, no setTimeout callback runs
    let answer!: (value: string) => void;
    const answered = new Promise<string>((resolve) => (answer = resolve));
    function Probe() {
      const query = useQuery({ queryKey: ["probe"], queryFn: () => answered });
      return <p>{query.data ?? "waiting"}</p>;
    }
    render(
      <QueryClientProvider client={client}>
        <Probe />
      </QueryClientProvider>,
    );
    expect(screen.getByText("waiting")).toBeInTheDocument();

    await act(async () => {
      answer("answered");
      for (let tick = 0; tick < 20; tick += 1) await Promise.resolve();
    });
    expect(screen.getByText("answered")).toBeInTheDocument();
  });
});
