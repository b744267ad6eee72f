import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import {
  AuthSession,
  CSRF_HEADER,
  type MessageChannelLike,
  ResponseError,
  readCookie,
  refreshDelayMs,
} from "./session";

const CSRF = "csrf-value-123";
const BASE = "http://app.test";

/**
 * A small stand-in for the service's browser endpoints: it issues numbered access tokens,
 * accepts only the newest one, and records every request it sees.
 */
class FakeServer {
  requests: Request[] = [];
  bodies: string[] = [];
  issued = 0;
  validToken: string | null = null;
  refreshStatus = 200;
  refreshDelay = 0;
  cookies = `tenantry_csrf=${CSRF}`;

  fetch = async (request: Request): Promise<Response> => {
    this.requests.push(request);
    this.bodies.push(await request.clone().text());
    const path = new URL(request.url).pathname;
    if (path === "/auth/login") return this.#grant();
    if (path === "/auth/mfa/verify") {
      const body = JSON.parse(await request.clone().text()) as Record<string, string>;
      if (body.mfa_token !== "challenge-1") return problem(401, "invalid_mfa_token");
      if (body.code !== "123456" && body.recovery_code !== "abcd-efgh") {
        return problem(401, "invalid_mfa_code");
      }
      return this.#grant();
    }
    if (path === "/auth/reauthenticate") {
      const token = request.headers.get("Authorization")?.replace("Bearer ", "");
      if (!token || token !== this.validToken) return problem(401, "invalid_token");
      const body = JSON.parse(await request.clone().text()) as Record<string, string>;
      if (body.code !== "123456") return problem(400, "invalid_mfa_code");
      return this.#grant();
    }
    if (path === "/auth/refresh") {
      if (this.refreshDelay) await new Promise((resolve) => setTimeout(resolve, this.refreshDelay));
      if (request.headers.get(CSRF_HEADER) !== CSRF) return problem(403, "csrf_failed");
      if (this.refreshStatus !== 200) return problem(this.refreshStatus, "invalid_refresh_token");
      return this.#grant();
    }
    if (path === "/auth/logout") {
      this.validToken = null;
      this.cookies = "";
      return new Response(null, { status: 204 });
    }
    const token = request.headers.get("Authorization")?.replace("Bearer ", "");
    if (!token || token !== this.validToken) return problem(401, "invalid_token");
    return Response.json({ path, token });
  };

  count(path: string): number {
    return this.requests.filter((request) => new URL(request.url).pathname === path).length;
  }

  #grant(): Response {
    this.issued += 1;
    this.validToken = `token-${this.issued}`;
    return Response.json({ access_token: this.validToken, token_type: "bearer", expires_in: 900 });
  }
}

function problem(status: number, code: string): Response {
  return new Response(JSON.stringify({ status, code, title: code }), {
    status,
    headers: { "Content-Type": "application/problem+json" },
  });
}

/** Two tabs' BroadcastChannels: what one posts, the others receive. */
function channelPair(): [MessageChannelLike, MessageChannelLike] {
  const listeners: Array<Set<(event: MessageEvent) => void>> = [new Set(), new Set()];
  const make = (index: number): MessageChannelLike => ({
    postMessage(message) {
      const other = listeners[1 - index] as Set<(event: MessageEvent) => void>;
      for (const listener of other) listener(new MessageEvent("message", { data: message }));
    },
    addEventListener(_type, listener) {
      (listeners[index] as Set<(event: MessageEvent) => void>).add(
        listener as (event: MessageEvent) => void,
      );
    },
    close() {},
  });
  return [make(0), make(1)];
}

function session(server: FakeServer, channel: MessageChannelLike | null = null): AuthSession {
  return new AuthSession({
    fetch: server.fetch,
    readCookies: () => server.cookies,
    channel,
    locks: null,
    baseUrl: BASE,
  });
}

describe("AuthSession", () => {
  let server: FakeServer;
  let setItem: ReturnType<typeof vi.spyOn>;

  beforeEach(() => {
    server = new FakeServer();
    localStorage.clear();
    sessionStorage.clear();
    setItem = vi.spyOn(Storage.prototype, "setItem");
  });

  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it("restores a session on page load through /auth/refresh with the CSRF header", async () => {
    const auth = session(server);
    expect(auth.status).toBe("unknown");

    expect(await auth.restore()).toBe(true);

    expect(auth.status).toBe("signed-in");
    const refresh = server.requests[0] as Request;
    expect(new URL(refresh.url).pathname).toBe("/auth/refresh");
    expect(refresh.method).toBe("POST");
    expect(refresh.headers.get(CSRF_HEADER)).toBe(CSRF);
    expect(refresh.credentials).toBe("same-origin");
  });

  it("does not call the server on load when there is no CSRF cookie", async () => {
    server.cookies = "theme=dark";
    const auth = session(server);

    expect(await auth.restore()).toBe(false);

    expect(auth.status).toBe("signed-out");
    expect(server.requests).toHaveLength(0);
  });

  it("attaches the access token and sends same-origin credentials", async () => {
    const auth = session(server);
    await auth.signIn("ada@example.com", "a long password");

    const response = await auth.fetch("/users/me");

    expect(response.status).toBe(200);
    const call = server.requests.at(-1) as Request;
    expect(call.headers.get("Authorization")).toBe("Bearer token-1");
    expect(call.credentials).toBe("same-origin");
  });

  it("retries with the refreshed token and succeeds", async () => {
    const auth = session(server);
    await auth.signIn("ada@example.com", "a long password");
    server.issued = 1;
    server.validToken = "token-2"; // the access token in memory expired; a refresh issues token-2

    const response = await auth.fetch("/organizations", {
      method: "POST",
      body: JSON.stringify({ name: "Acme" }),
    });

    expect(response.status).toBe(200);
    expect(server.count("/auth/refresh")).toBe(1);
    const calls = server.requests.filter((r) => new URL(r.url).pathname === "/organizations");
    expect(calls.map((r) => r.headers.get("Authorization"))).toEqual([
      "Bearer token-1",
      "Bearer token-2",
    ]);
    const bodies = server.bodies.filter((_, i) => calls.includes(server.requests[i] as Request));
    expect(bodies).toEqual(['{"name":"Acme"}', '{"name":"Acme"}']);
  });

  it("retries only once: a second 401 is returned, not looped on", async () => {
    // The server refuses every access token (the user was just deactivated, say),
    // while the refresh endpoint still answers.
    const answer = server.fetch;
    let profileCalls = 0;
    server.fetch = async (request) => {
      if (new URL(request.url).pathname !== "/users/me") return answer(request);
      profileCalls += 1;
      return problem(401, "invalid_token");
    };
    const auth = session(server);
    await auth.signIn("ada@example.com", "a long password");

    const response = await auth.fetch("/users/me");

    expect(response.status).toBe(401);
    expect(profileCalls).toBe(2);
    expect(server.count("/auth/refresh")).toBe(1);
  });

  it("shares one refresh among concurrent 401s (single flight)", async () => {
    const auth = session(server);
    await auth.signIn("ada@example.com", "a long password");
    server.issued = 1;
    server.validToken = "token-2";
    server.refreshDelay = 20;

    const responses = await Promise.all(
      ["/a", "/b", "/c", "/d", "/e"].map((path) => auth.fetch(path)),
    );

    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);
    expect(server.count("/auth/refresh")).toBe(1);
  });

  it("shares one refresh among concurrent callers of refresh()", async () => {
    const auth = session(server);
    server.refreshDelay = 10;

    const results = await Promise.all([auth.refresh(), auth.refresh(), auth.restore()]);

    expect(results).toEqual([true, true, true]);
    expect(server.count("/auth/refresh")).toBe(1);
  });

  it("signs out and returns the 401 when the refresh token is refused", async () => {
    const auth = session(server);
    await auth.signIn("ada@example.com", "a long password");
    server.validToken = "rotated";
    server.refreshStatus = 401;
    const statuses: string[] = [];
    auth.subscribe((status) => statuses.push(status));

    const response = await auth.fetch("/users/me");

    expect(response.status).toBe(401);
    expect(auth.status).toBe("signed-out");
    expect(statuses).toEqual(["signed-out"]);
    expect(server.count("/users/me")).toBe(1);
  });

  it("refreshes the access token shortly before it expires", async () => {
    vi.useFakeTimers();
    const auth = session(server);
    await auth.signIn("ada@example.com", "a long password");
    expect(server.count("/auth/refresh")).toBe(0);

    await vi.advanceTimersByTimeAsync(refreshDelayMs(900) - 1000);
    expect(server.count("/auth/refresh")).toBe(0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(server.count("/auth/refresh")).toBe(1);
    // ...and keeps doing so with each new token.
    await vi.advanceTimersByTimeAsync(refreshDelayMs(900));
    expect(server.count("/auth/refresh")).toBe(2);

    const response = await auth.fetch("/users/me");
    expect(response.status).toBe(200);
    expect(server.count("/auth/refresh")).toBe(2);
  });

  it("stops the refresh timer after sign-out", async () => {
    vi.useFakeTimers();
    const auth = session(server);
    await auth.signIn("ada@example.com", "a long password");
    await auth.signOut();

    await vi.advanceTimersByTimeAsync(refreshDelayMs(900) * 3);

    expect(server.count("/auth/refresh")).toBe(0);
  });

  it("signs out with the CSRF header and tells the other tabs", async () => {
    const [tabA, tabB] = channelPair();
    const first = session(server, tabA);
    const second = session(server, tabB);
    await first.signIn("ada@example.com", "a long password");
    await second.restore();
    expect(second.status).toBe("signed-in");

    await first.signOut();

    const logout = server.requests.find((r) => new URL(r.url).pathname === "/auth/logout");
    expect(logout?.headers.get(CSRF_HEADER)).toBe(CSRF);
    expect(logout?.method).toBe("POST");
    expect(first.status).toBe("signed-out");
    expect(second.status).toBe("signed-out");
    const response = await second.fetch("/users/me");
    expect(response.status).toBe(401);
    expect(response.headers.get("Authorization")).toBeNull();
  });

  it("signs in the other tabs through their own refresh", async () => {
    const [tabA, tabB] = channelPair();
    const first = session(server, tabA);
    const second = session(server, tabB);
    server.cookies = "";
    await second.restore();
    expect(second.status).toBe("signed-out");

    server.cookies = `tenantry_csrf=${CSRF}`;
    await first.signIn("ada@example.com", "a long password");
    await vi.waitFor(() => expect(second.status).toBe("signed-in"));
  });

  it("throws the refused response of a failed sign-in and stays signed out", async () => {
    server.fetch = () => Promise.resolve(problem(401, "invalid_credentials"));
    const auth = session(server);

    const error = await auth.signIn("ada@example.com", "wrong").catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ResponseError);
    expect((error as ResponseError).response.status).toBe(401);
    expect(auth.status).toBe("unknown");
  });

  it("writes nothing to localStorage, sessionStorage or cookies", async () => {
    const cookieSetter = vi.spyOn(document, "cookie", "set");
    const auth = session(server);
    await auth.signIn("ada@example.com", "a long password");
    await auth.refresh();
    await auth.fetch("/users/me");
    await auth.signOut();

    expect(setItem).not.toHaveBeenCalled();
    expect(cookieSetter).not.toHaveBeenCalled();
    expect(localStorage.length).toBe(0);
    expect(sessionStorage.length).toBe(0);
  });
});

describe("helpers", () => {
  it("reads one cookie out of document.cookie", () => {
    expect(readCookie("a=1; tenantry_csrf=x%3Dy; b=2", "tenantry_csrf")).toBe("x=y");
    expect(readCookie("a=1", "tenantry_csrf")).toBeNull();
    expect(readCookie("", "tenantry_csrf")).toBeNull();
  });

  it("refreshes a minute early, or a quarter early for short lifetimes", () => {
    expect(refreshDelayMs(900)).toBe(840_000);
    expect(refreshDelayMs(30)).toBe(22_500);
  });
});

describe("AuthSession second factor", () => {
  let server: FakeServer;

  beforeEach(() => {
    server = new FakeServer();
  });

  it("starts the session from /auth/mfa/verify like a login, token in memory only", async () => {
    const setItem = vi.spyOn(Storage.prototype, "setItem");
    const [here, other] = channelPair();
    const heard: unknown[] = [];
    other.addEventListener("message", (event) => heard.push(event.data));
    const auth = session(server, here);

    await auth.verifyMfa({ mfa_token: "challenge-1", code: "123456" });

    expect(auth.status).toBe("signed-in");
    expect(heard).toEqual([{ type: "signed-in" }]);
    const verify = server.requests[0] as Request;
    expect(new URL(verify.url).pathname).toBe("/auth/mfa/verify");
    expect(verify.credentials).toBe("same-origin");
    expect(verify.headers.get("Authorization")).toBeNull();
    expect(server.bodies[0]).toBe('{"mfa_token":"challenge-1","code":"123456"}');
    const call = await auth.fetch("/users/me");
    expect(((await call.json()) as { token: string }).token).toBe("token-1");
    expect(setItem).not.toHaveBeenCalled();
    vi.restoreAllMocks();
  });

  it("accepts a recovery code instead of a TOTP code", async () => {
    const auth = session(server);
    await auth.verifyMfa({ mfa_token: "challenge-1", recovery_code: "abcd-efgh" });
    expect(auth.status).toBe("signed-in");
  });

  it("throws the refusal and stays signed out on a wrong code or challenge", async () => {
    const auth = session(server);
    const wrongCode = await auth.verifyMfa({ mfa_token: "challenge-1", code: "000000" }).catch((e: unknown) => e);
    expect(wrongCode).toBeInstanceOf(ResponseError);
    expect((wrongCode as ResponseError).response.status).toBe(401);
    expect(((await (wrongCode as ResponseError).response.json()) as { code: string }).code).toBe("invalid_mfa_code");
    const wrongToken = await auth.verifyMfa({ mfa_token: "old", code: "123456" }).catch((e: unknown) => e);
    expect(((await (wrongToken as ResponseError).response.json()) as { code: string }).code).toBe("invalid_mfa_token");
    expect(auth.status).not.toBe("signed-in");
  });

  it("replaces the access token with the one /auth/reauthenticate answers", async () => {
    const auth = session(server);
    await auth.signIn("ada@example.com", "a long password");

    await auth.reauthenticate({ code: "123456" });

    const step = server.requests.at(-1) as Request;
    expect(new URL(step.url).pathname).toBe("/auth/reauthenticate");
    expect(step.headers.get("Authorization")).toBe("Bearer token-1");
    const call = await auth.fetch("/users/me");
    expect(call.headers.get("Authorization")).toBeNull();
    expect(((await call.json()) as { token: string }).token).toBe("token-2");
    expect(auth.status).toBe("signed-in");
  });

  it("keeps the old token when reauthentication is refused", async () => {
    const auth = session(server);
    await auth.signIn("ada@example.com", "a long password");

    await expect(auth.reauthenticate({ code: "999999" })).rejects.toBeInstanceOf(ResponseError);

    const call = await auth.fetch("/users/me");
    expect(((await call.json()) as { token: string }).token).toBe("token-1");
  });

  it("does not refresh on a step-up refusal: a new token would carry the same auth_time", async () => {
    const answer = server.fetch;
    server.fetch = async (request) => {
      if (new URL(request.url).pathname !== "/auth/mfa/factors/f1") return answer(request);
      server.requests.push(request);
      return new Response(JSON.stringify({ status: 401, code: "step_up_required" }), {
        status: 401,
        headers: { "WWW-Authenticate": 'Bearer error="insufficient_user_authentication", max_age="600"' },
      });
    };
    const auth = session(server);
    await auth.signIn("ada@example.com", "a long password");

    const response = await auth.fetch("/auth/mfa/factors/f1", { method: "DELETE" });

    expect(response.status).toBe(401);
    expect(server.count("/auth/refresh")).toBe(0);
    expect(server.count("/auth/mfa/factors/f1")).toBe(1);
  });
});
