import { QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";

import { auth } from "../../auth";
import { AuthProvider } from "../../auth/AuthProvider";
import { createQueryClient } from "../../shared/query";
import { SignInPage } from "./SignInPage";

/** /auth/login asks for a second factor; the challenge takes one wrong code, then dies. */
class Service {
  verifies: unknown[] = [];
  spent = false;

  fetch = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    if (path === "/auth/login") {
      return problem(401, "mfa_required", { mfa_token: "challenge-1", factors: ["totp", "recovery_code"] });
    }
    if (path === "/auth/mfa/verify") {
      const body = (await request.json()) as { mfa_token: string; code?: string; recovery_code?: string };
      this.verifies.push(body);
      if (this.spent || body.mfa_token !== "challenge-1") return problem(401, "invalid_mfa_token");
      if (body.code === "123456") {
        return Response.json({ access_token: "token-1", token_type: "bearer", expires_in: 900 });
      }
      this.spent = true;
      return problem(401, "invalid_mfa_code");
    }
    if (path === "/users/me") return problem(404, "not_found");
    return problem(401, "not_authenticated");
  };
}

function problem(status: number, code: string, extra: object = {}): Response {
  return Response.json({ status, code, title: code, ...extra }, { status });
}

function renderSignIn(service: Service) {
  vi.stubGlobal("fetch", vi.fn(service.fetch));
  render(
    <QueryClientProvider client={createQueryClient()}>
      <AuthProvider>
        <MemoryRouter initialEntries={["/signin"]}>
          <Routes>
            <Route path="/signin" element={<SignInPage />} />
            <Route path="/orgs" element={<p>Organizations page</p>} />
          </Routes>
        </MemoryRouter>
      </AuthProvider>
    </QueryClientProvider>,
  );
}

async function enterPassword() {
  await userEvent.type(screen.getByLabelText("Email"), "ada@example.com");
  await userEvent.type(screen.getByLabelText("Password"), "a long password");
  await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
}

describe("SignInPage second factor", () => {
  afterEach(async () => {
    // The tab's one session outlives a test: end it, as the Sign out button would.
    await auth.signOut();
    vi.unstubAllGlobals();
  });

  it("asks for the code after the password and signs in with it", async () => {
    const service = new Service();
    renderSignIn(service);
    await enterPassword();

    const code = await screen.findByLabelText("Authentication code");
    expect(code).toHaveAttribute("autocomplete", "one-time-code");
    expect(code).toHaveAttribute("inputmode", "numeric");
    await userEvent.type(code, "123 456");
    await userEvent.click(screen.getByRole("button", { name: "Verify" }));

    expect(await screen.findByText("Organizations page")).toBeInTheDocument();
    expect(service.verifies).toEqual([{ mfa_token: "challenge-1", code: "123456" }]);
  });

  it("lets the person retry a wrong code, and starts over when the challenge is spent", async () => {
    const service = new Service();
    renderSignIn(service);
    await enterPassword();

    await userEvent.type(await screen.findByLabelText("Authentication code"), "000000");
    await userEvent.click(screen.getByRole("button", { name: "Verify" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("That code is not right");

    await userEvent.click(screen.getByRole("button", { name: "Use a recovery code instead" }));
    await userEvent.type(screen.getByLabelText("Recovery code"), "abcd-efgh");
    await userEvent.click(screen.getByRole("button", { name: "Verify" }));

    expect(await screen.findByRole("heading", { name: "Sign in" })).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("expired or ran out of tries");
    expect(service.verifies.at(-1)).toEqual({ mfa_token: "challenge-1", recovery_code: "abcd-efgh" });
  });
});
