import { QueryClientProvider } from "@tanstack/react-query";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { AuthProvider, useAuth } from "../../auth/AuthProvider";
import { createQueryClient } from "../../shared/query";
import { TwoFactorCard } from "./TwoFactorCard";

const USER = {
  id: "u1",
  email: "ada@example.com",
  full_name: null,
  email_verified_at: null,
  is_active: true,
  is_superuser: false,
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
};

const FACTOR = {
  id: "f1",
  kind: "totp",
  name: "Authenticator app",
  created_at: "2026-01-01T00:00:00Z",
  last_used_at: null,
};

/**
 * The service as the card meets it: token-1 comes from the refresh cookie and is too old
 * for a removal (step-up); /auth/reauthenticate with the right code issues token-2.
 */
class Service {
  factors = [FACTOR];
  calls: string[] = [];

  fetch = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    const bearer = request.headers.get("Authorization");
    this.calls.push(`${request.method} ${path} ${bearer ?? "-"}`);
    if (path === "/auth/refresh") return grant("token-1");
    if (!bearer) return problem(401, "not_authenticated");
    if (path === "/users/me") return Response.json(USER);
    if (path === "/auth/mfa") return Response.json({ factors: this.factors, recovery_codes_left: 10 });
    if (path === "/auth/reauthenticate") {
      const body = (await request.json()) as { code?: string };
      return body.code === "123456" ? grant("token-2") : problem(400, "invalid_mfa_code");
    }
    if (path === "/auth/mfa/factors/f1" && request.method === "DELETE") {
      if (bearer !== "Bearer token-2") {
        const refusal = problem(401, "step_up_required");
        refusal.headers.set("WWW-Authenticate", 'Bearer error="insufficient_user_authentication", max_age="600"');
        return refusal;
      }
      this.factors = [];
      return new Response(null, { status: 204 });
    }
    return problem(404, "not_found");
  };
}

function grant(token: string): Response {
  return Response.json({ access_token: token, token_type: "bearer", expires_in: 900 });
}

function problem(status: number, code: string): Response {
  return Response.json({ status, code, title: code }, { status, headers: { "Content-Type": "application/problem+json" } });
}

/** As on the Profile page: the card is shown to a signed-in user only. */
function SignedInCard() {
  return useAuth().user ? <TwoFactorCard /> : null;
}

describe("TwoFactorCard", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  it("asks for a step-up when removal needs one, then retries with the new token", async () => {
    const service = new Service();
    vi.stubGlobal("fetch", vi.fn(service.fetch));
    vi.spyOn(window, "confirm").mockReturnValue(true);
    document.cookie = "tenantry_csrf=csrf-1";
    render(
      <QueryClientProvider client={createQueryClient()}>
        <AuthProvider>
          <SignedInCard />
        </AuthProvider>
      </QueryClientProvider>,
    );

    await userEvent.click(await screen.findByRole("button", { name: "Remove Authenticator app" }));
    const stepUp = await screen.findByRole("form", { name: "Confirm it is you" });
    await userEvent.type(within(stepUp).getByLabelText("Authentication code"), "000000");
    await userEvent.click(within(stepUp).getByRole("button", { name: "Confirm" }));
    expect(await within(stepUp).findByRole("alert")).toHaveTextContent("That code is not right");

    await userEvent.clear(within(stepUp).getByLabelText("Authentication code"));
    await userEvent.type(within(stepUp).getByLabelText("Authentication code"), "123 456");
    await userEvent.click(within(stepUp).getByRole("button", { name: "Confirm" }));

    expect(await screen.findByText(/^Off\./)).toBeInTheDocument();
    const deletes = service.calls.filter((call) => call.startsWith("DELETE"));
    expect(deletes).toEqual(["DELETE /auth/mfa/factors/f1 Bearer token-1", "DELETE /auth/mfa/factors/f1 Bearer token-2"]);
  });
});
