/**
 * Credentials for the transport: an API key, or a login session that keeps itself valid.
 *
 * A session refreshes its access token shortly before it expires, and again whenever the server
 * answers UNAUTHENTICATED because the token expired or stopped being valid. Each refresh rotates
 * the refresh token, and paysim revokes the whole session when a rotated one is used again, so
 * refreshes are serialised, never retried blindly, and a refresh that raced with another one is
 * not repeated. When the refresh token itself is no longer accepted, the session logs in again
 * with the password it was opened with.
 */

import { timestampMs } from "@bufbuild/protobuf/wkt";

import { AuthService, type LoginResponse, type TokenPair, type User } from "./gen/paysim/v1/auth_pb.js";
import { NO_RETRY } from "./retry.js";
import { RpcError, Unauthenticated } from "./status-errors.js";
import type { Credentials, Transport } from "./transport.js";

/** Reasons after which a renewed access token can succeed where the old one failed. */
const RENEWABLE_REASONS = new Set(["TOKEN_EXPIRED", "INVALID_TOKEN"]);
/** Refresh this long before the access token expires (at most half of its lifetime). */
export const REFRESH_MARGIN_MS = 60_000;

export class ApiKeyCredentials implements Credentials {
  readonly #apiKey: string;

  constructor(apiKey: string) {
    if (!apiKey) throw new TypeError("apiKey must not be empty");
    this.#apiKey = apiKey;
  }

  async authorization(): Promise<string> {
    return this.#apiKey;
  }

  async renew(): Promise<boolean> {
    return false; // a revoked or unknown key stays that way
  }
}

/** A user's login session: an access token kept fresh and a refresh token rotated on use. */
export class Session implements Credentials {
  tokens: TokenPair | undefined;
  user: User | undefined;
  /** How many times the access token was refreshed. */
  refreshes = 0;
  #refreshAt: number | undefined;
  #expiresAt: number | undefined;
  #renewing: Promise<void> | undefined;
  readonly #password: string;

  constructor(
    private readonly transport: Transport,
    private readonly email: string,
    password: string,
    private readonly marginMs: number = REFRESH_MARGIN_MS,
  ) {
    this.#password = password;
  }

  #keep(tokens: TokenPair): void {
    this.tokens = tokens;
    // Measured against this machine's clock when the pair arrives. A token that looks expired on
    // arrival (skewed clocks) is never refreshed ahead of time: the server's answer drives it.
    const expiry = tokens.accessTokenExpireTime;
    const lifetime = expiry === undefined ? 0 : timestampMs(expiry) - Date.now();
    const now = performance.now();
    if (lifetime > 0) {
      this.#expiresAt = now + lifetime;
      this.#refreshAt = now + lifetime - Math.min(this.marginMs, lifetime / 2);
    } else {
      this.#expiresAt = this.#refreshAt = undefined;
    }
  }

  async login(): Promise<LoginResponse> {
    const reply = await this.transport.call(AuthService.method.login, { email: this.email, password: this.#password });
    if (reply.tokens !== undefined) this.#keep(reply.tokens);
    this.user = reply.user;
    return reply;
  }

  async authorization(): Promise<string | undefined> {
    const tokens = this.tokens;
    if (tokens === undefined) return undefined;
    if (this.#refreshAt !== undefined && performance.now() >= this.#refreshAt) {
      await this.#renew(tokens.accessToken, true);
    }
    return this.tokens?.accessToken;
  }

  async renew(used: string | undefined, error: Unauthenticated): Promise<boolean> {
    if (!RENEWABLE_REASONS.has(error.reason) || used === undefined || this.tokens === undefined) return false;
    await this.#renew(used, false);
    return true;
  }

  async #renew(used: string, aheadOfExpiry: boolean): Promise<void> {
    while (this.#renewing !== undefined) await this.#renewing.catch(() => undefined);
    if (this.tokens === undefined || this.tokens.accessToken !== used) return; // renewed meanwhile
    this.#renewing = this.#refresh(this.tokens, aheadOfExpiry);
    try {
      await this.#renewing;
    } finally {
      this.#renewing = undefined;
    }
  }

  async #refresh(tokens: TokenPair, aheadOfExpiry: boolean): Promise<void> {
    try {
      const reply = await this.transport.call(
        AuthService.method.refreshToken,
        { refreshToken: tokens.refreshToken },
        { retry: NO_RETRY },
      );
      if (reply.tokens !== undefined) this.#keep(reply.tokens);
      this.refreshes++;
    } catch (error) {
      // The refresh token expired, was revoked, or its family was revoked for reuse.
      if (error instanceof Unauthenticated) {
        await this.login();
        return;
      }
      const stillValid = this.#expiresAt !== undefined && performance.now() < this.#expiresAt;
      if (aheadOfExpiry && stillValid && error instanceof RpcError) return; // the next call tries again
      throw error;
    }
  }

  /** Revoke the refresh token on the server; later calls go without credentials. */
  async logout(): Promise<void> {
    const tokens = this.tokens;
    this.tokens = undefined;
    this.#refreshAt = this.#expiresAt = undefined;
    if (tokens !== undefined) await this.transport.call(AuthService.method.logout, { refreshToken: tokens.refreshToken });
  }
}
