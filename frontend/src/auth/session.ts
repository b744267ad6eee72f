/**
 * The browser side of DESIGN.md §5 "Authentication — browsers": how the app holds tokens.
 *
 * - The access token lives only in this object (memory). A script injected into the page
 *   could still call the API while the page is open — nothing in a browser prevents that —
 *   but it cannot carry the token away to use later, and nothing survives in storage.
 * - The refresh token lives only in the HttpOnly `tenantry_refresh` cookie (Path=/auth,
 *   SameSite=Strict), which no script can read. Every unsafe call that relies on that cookie
 *   (/auth/refresh, /auth/logout) also sends `X-CSRF-Token` with the value of the readable
 *   `tenantry_csrf` cookie: a cross-site page can make the browser send cookies, but it
 *   cannot read ours to copy the value into a header (double-submit cookie).
 * - A reload restores the session through /auth/refresh; the token is renewed shortly before
 *   it expires; a request that meets a 401 refreshes once and is retried once (not a step-up
 *   refusal, which needs /auth/reauthenticate); concurrent 401s
 *   share one refresh; tabs tell each other about sign-out over a BroadcastChannel.
 */

import type { components } from "../api/schema";

/** What /auth/login and /auth/refresh answer: the access token and its lifetime. */
type AccessTokenResponse = components["schemas"]["AccessTokenResponse"];
/** The second step of a sign-in: the challenge's token and one TOTP or recovery code. */
export type MfaVerifyBody = { mfa_token: string } & ({ code: string } | { recovery_code: string });
/** Proof for a step-up: exactly one of the password, a TOTP code or a recovery code. */
export type ReauthenticateBody = { password: string } | { code: string } | { recovery_code: string };

export type AuthStatus = "unknown" | "signed-in" | "signed-out";

export const CSRF_COOKIE = "tenantry_csrf";
export const CSRF_HEADER = "X-CSRF-Token";
export const CHANNEL_NAME = "tenantry-auth";
const REFRESH_LOCK = "tenantry-refresh";

type AuthMessage = { type: "signed-out" } | { type: "signed-in" };

/** The parts of BroadcastChannel this module uses, so tests can pass a pair of fakes. */
export interface MessageChannelLike {
  postMessage(message: AuthMessage): void;
  addEventListener(type: "message", listener: (event: MessageEvent<AuthMessage>) => void): void;
  close(): void;
}

export interface AuthSessionOptions {
  fetch?: (request: Request) => Promise<Response>;
  /** Returns `document.cookie` (the only cookie a script can see is the CSRF one). */
  readCookies?: () => string;
  channel?: MessageChannelLike | null;
  /** Web Locks serialise refreshes across tabs; absent (tests, old browsers) means per tab only. */
  locks?: Pick<LockManager, "request"> | null;
  /** Base URL of the API; same origin by default. */
  baseUrl?: string;
  setTimer?: (callback: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/** Refresh this long before expiry: a minute, or a quarter of a short lifetime. */
export function refreshDelayMs(expiresInSeconds: number): number {
  const margin = Math.min(60, expiresInSeconds / 4);
  return Math.max(1, expiresInSeconds - margin) * 1000;
}

export function readCookie(cookies: string, name: string): string | null {
  for (const part of cookies.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

export class AuthSession {
  #accessToken: string | null = null;
  #status: AuthStatus = "unknown";
  #refreshing: Promise<boolean> | null = null;
  #timer: unknown = null;
  readonly #listeners = new Set<(status: AuthStatus) => void>();
  readonly #fetch: (request: Request) => Promise<Response>;
  readonly #readCookies: () => string;
  readonly #channel: MessageChannelLike | null;
  readonly #locks: Pick<LockManager, "request"> | null;
  readonly #baseUrl: string;
  readonly #setTimer: (callback: () => void, ms: number) => unknown;
  readonly #clearTimer: (handle: unknown) => void;

  constructor(options: AuthSessionOptions = {}) {
    this.#fetch = options.fetch ?? ((request) => globalThis.fetch(request));
    this.#readCookies = options.readCookies ?? (() => document.cookie);
    this.#channel = options.channel === undefined ? defaultChannel() : options.channel;
    this.#locks = options.locks === undefined ? defaultLocks() : options.locks;
    this.#baseUrl = options.baseUrl ?? globalThis.location?.origin ?? "http://localhost";
    this.#setTimer = options.setTimer ?? ((callback, ms) => setTimeout(callback, ms));
    this.#clearTimer =
      options.clearTimer ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>));
    this.#channel?.addEventListener("message", (event) => this.#onMessage(event.data));
  }

  get status(): AuthStatus {
    return this.#status;
  }

  /** Calls `listener` on every status change; returns the unsubscribe function. */
  subscribe(listener: (status: AuthStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** On page load: the refresh cookie, if any, becomes a fresh access token. */
  async restore(): Promise<boolean> {
    if (readCookie(this.#readCookies(), CSRF_COOKIE) === null) {
      // No CSRF cookie means no browser session: do not ask the server to say so.
      this.#setStatus("signed-out");
      return false;
    }
    return this.refresh();
  }

  /**
   * POST /auth/login; throws the error response when the server refuses. A user with a
   * second factor gets `401 mfa_required` here, and finishes with `verifyMfa`.
   */
  signIn(email: string, password: string): Promise<void> {
    return this.#startSession("/auth/login", { email, password });
  }

  /**
   * POST /auth/mfa/verify: the second step of a sign-in, answered like /auth/login (the
   * cookies are set and the access token stays in this object).
   */
  verifyMfa(body: MfaVerifyBody): Promise<void> {
    return this.#startSession("/auth/mfa/verify", body);
  }

  /**
   * POST /auth/reauthenticate (step-up): the same session gets a fresh access token with a
   * new `auth_time`; it replaces the one held here. Throws the error response on refusal.
   */
  async reauthenticate(body: ReauthenticateBody): Promise<void> {
    const response = await this.fetch(
      this.#request("/auth/reauthenticate", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      }),
    );
    if (!response.ok) throw new ResponseError(response);
    this.#accept((await response.json()) as AccessTokenResponse);
  }

  async #startSession(path: string, body: object): Promise<void> {
    const response = await this.#fetch(
      this.#request(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      }),
    );
    if (!response.ok) throw new ResponseError(response);
    this.#accept((await response.json()) as AccessTokenResponse);
    this.#channel?.postMessage({ type: "signed-in" });
  }

  /**
   * Renew the access token with the refresh cookie. Every caller during one refresh shares
   * it (single flight): the refresh token is single use, so a second concurrent refresh
   * would only rely on the server's reuse interval.
   */
  refresh(): Promise<boolean> {
    this.#refreshing ??= this.#serialised(() => this.#refreshNow()).finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  /** POST /auth/logout with the cookie and CSRF header; this tab and the others sign out. */
  async signOut(): Promise<void> {
    const headers = new Headers();
    const csrf = readCookie(this.#readCookies(), CSRF_COOKIE);
    if (csrf !== null) headers.set(CSRF_HEADER, csrf);
    try {
      let response = await this.#fetch(this.#request("/auth/logout", { method: "POST", headers }));
      if (!response.ok && this.#accessToken !== null) {
        // No usable cookie (cleared, or another tab already logged out): the bearer
        // token still names the session to revoke.
        headers.delete(CSRF_HEADER);
        headers.set("Authorization", `Bearer ${this.#accessToken}`);
        response = await this.#fetch(this.#request("/auth/logout", { method: "POST", headers }));
      }
    } catch {
      // Offline: forget the session here anyway; it still expires on the server.
    } finally {
      this.#signOutLocally(true);
    }
  }

  /** POST /auth/logout-all: every session of the user ends, this tab's included. */
  async signOutEverywhere(): Promise<void> {
    const response = await this.fetch(this.#request("/auth/logout-all", { method: "POST" }));
    if (!response.ok && response.status !== 401) throw new ResponseError(response);
    this.#signOutLocally(true);
  }

  /**
   * `fetch` with the access token attached. A 401 refreshes once and retries once; the
   * request is cloned first, so a body can be sent twice.
   */
  fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(
      input instanceof Request ? input : this.#absolute(input),
      { ...init, credentials: "same-origin" },
    );
    if (this.#accessToken === null && this.#refreshing !== null) await this.#refreshing;
    const sentToken = this.#accessToken;
    const response = await this.#fetch(withToken(request.clone(), sentToken));
    if (response.status !== 401 || sentToken === null) return response;
    // A step-up refusal (RFC 9470) is about how the user signed in, not about the token's
    // age: a refresh keeps the same auth_time, so only /auth/reauthenticate helps.
    if (needsStepUp(response)) return response;
    // Another request may have refreshed while this one was in flight: use its token.
    if (this.#accessToken === sentToken && !(await this.refresh())) return response;
    if (this.#accessToken === null) return response;
    return this.#fetch(withToken(request, this.#accessToken));
  };

  async #refreshNow(): Promise<boolean> {
    // Read inside the lock: another tab may just have rotated the cookies.
    const csrf = readCookie(this.#readCookies(), CSRF_COOKIE);
    if (csrf === null) {
      this.#signOutLocally(false);
      return false;
    }
    let response: Response;
    try {
      response = await this.#fetch(
        this.#request("/auth/refresh", { method: "POST", headers: { [CSRF_HEADER]: csrf } }),
      );
    } catch {
      // A network failure says nothing about the session; only a first load gives up on it.
      if (this.#status === "unknown") this.#setStatus("signed-out");
      return false;
    }
    if (!response.ok) {
      this.#signOutLocally(false);
      return false;
    }
    this.#accept((await response.json()) as AccessTokenResponse);
    return true;
  }

  #serialised<T>(work: () => Promise<T>): Promise<T> {
    if (this.#locks === null) return work();
    return this.#locks.request(REFRESH_LOCK, work) as Promise<T>;
  }

  #accept(grant: AccessTokenResponse): void {
    this.#accessToken = grant.access_token;
    this.#cancelTimer();
    this.#timer = this.#setTimer(() => void this.refresh(), refreshDelayMs(grant.expires_in));
    this.#setStatus("signed-in");
  }

  #signOutLocally(tellOtherTabs: boolean): void {
    this.#accessToken = null;
    this.#cancelTimer();
    this.#setStatus("signed-out");
    if (tellOtherTabs) this.#channel?.postMessage({ type: "signed-out" });
  }

  #onMessage(message: AuthMessage): void {
    if (message.type === "signed-out") this.#signOutLocally(false);
    else if (message.type === "signed-in" && this.#status !== "signed-in") void this.refresh();
  }

  #cancelTimer(): void {
    if (this.#timer !== null) this.#clearTimer(this.#timer);
    this.#timer = null;
  }

  #setStatus(status: AuthStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    for (const listener of this.#listeners) listener(status);
  }

  #absolute(input: string | URL): URL {
    return new URL(input, this.#baseUrl);
  }

  #request(path: string, init: RequestInit): Request {
    return new Request(this.#absolute(path), { ...init, credentials: "same-origin" });
  }
}

/** A non-2xx answer, kept whole so the caller can read its problem+json body. */
export class ResponseError extends Error {
  constructor(readonly response: Response) {
    super(`HTTP ${response.status}`);
    this.name = "ResponseError";
  }
}

function needsStepUp(response: Response): boolean {
  return /error="insufficient_user_authentication"/.test(response.headers.get("WWW-Authenticate") ?? "");
}

function withToken(request: Request, token: string | null): Request {
  if (token !== null) request.headers.set("Authorization", `Bearer ${token}`);
  return request;
}

function defaultChannel(): MessageChannelLike | null {
  return typeof BroadcastChannel === "undefined" ? null : new BroadcastChannel(CHANNEL_NAME);
}

function defaultLocks(): Pick<LockManager, "request"> | null {
  return typeof navigator !== "undefined" && navigator.locks ? navigator.locks : null;
}
