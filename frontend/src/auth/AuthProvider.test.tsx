import { QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { createQueryClient } from "../shared/query";
import { AuthProvider, useAuth } from "./AuthProvider";
import { currentUserQuery } from "./currentUser";

const USER = {
  id: "u1",
  email: "ada@example.com",
  full_name: "Ada Lovelace",
  email_verified_at: null,
  is_active: true,
  is_superuser: false,
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
};

/** The browser end of the service: refresh with the CSRF cookie, /users/me with the token. */
function service(request: Request): Response {
  const path = new URL(request.url).pathname;
  if (path === "/auth/refresh" && request.headers.get("X-CSRF-Token") === "csrf-1") {
    return Response.json({ access_token: "token-1", token_type: "bearer", expires_in: 900 });
  }
  if (path === "/users/me" && request.headers.get("Authorization") === "Bearer token-1") {
    return Response.json(USER);
  }
  if (path === "/auth/logout") {
    document.cookie = "tenantry_csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT";
    return new Response(null, { status: 204 });
  }
  return Response.json({ status: 401, code: "not_authenticated" }, { status: 401 });
}

function Probe() {
  const { status, user, signOut } = useAuth();
  return (
    <>
      <p>{status}</p>
      <p>{user?.email ?? "nobody"}</p>
      <button type="button" onClick={() => void signOut()}>
        Sign out
      </button>
    </>
  );
}

describe("AuthProvider", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("restores the session, loads the user, and empties the cache when the session ends", async () => {
    vi.stubGlobal("fetch", vi.fn((request: Request) => Promise.resolve(service(request))));
    document.cookie = "tenantry_csrf=csrf-1";
    const client = createQueryClient();
    render(
      <QueryClientProvider client={client}>
        <AuthProvider>
          <Probe />
        </AuthProvider>
      </QueryClientProvider>,
    );

    expect(await screen.findByText("ada@example.com")).toBeInTheDocument();
    expect(screen.getByText("signed-in")).toBeInTheDocument();
    client.setQueryData(["products", "o1", "list"], { items: [{ name: "Secret plans" }] });

    await userEvent.click(screen.getByRole("button", { name: "Sign out" }));

    expect(await screen.findByText("signed-out")).toBeInTheDocument();
    expect(screen.getByText("nobody")).toBeInTheDocument();
    expect(client.getQueryData(currentUserQuery.queryKey)).toBeUndefined();
    // The user query's observer is still mounted (disabled now), so its entry may exist again,
    // but no entry holds anything of the signed-out user.
    const kept = client.getQueryCache().getAll().filter((query) => query.state.data !== undefined);
    expect(kept.map((query) => query.queryKey)).toEqual([]);
  });
});
