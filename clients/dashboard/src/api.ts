// The dashboard's only way to paysim: the contract's RPCs over gRPC-Web, on the page's own origin.
// Credentials live in this module's memory alone (never localStorage, sessionStorage or a cookie):
// a reload or a closed tab logs the person out, and no other script of the origin can read them
// back from storage.
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { ErrorInfoSchema } from "@gen/google/rpc/error_details_pb.js";
import { AnalyticsService } from "@gen/paysim/v1/analytics_pb.js";
import { AuthService, type User } from "@gen/paysim/v1/auth_pb.js";
import { ClockService } from "@gen/paysim/v1/clock_pb.js";
import { Role } from "@gen/paysim/v1/common_pb.js";
import { DisputeService } from "@gen/paysim/v1/dispute_pb.js";
import { EventService } from "@gen/paysim/v1/events_pb.js";
import { MerchantService } from "@gen/paysim/v1/merchant_pb.js";
import { PaymentService } from "@gen/paysim/v1/payment_pb.js";
import { SimulatorService } from "@gen/paysim/v1/simulator_pb.js";
import { WebhookService } from "@gen/paysim/v1/webhook_pb.js";

interface Session {
  accessToken: string;
  refreshToken: string;
  user: User;
}

let session: Session | undefined;
let refreshing: Promise<void> | undefined;
const listeners = new Set<() => void>();

const bearer: Interceptor = (next) => async (request) => {
  if (session) request.header.set("authorization", `Bearer ${session.accessToken}`);
  return next(request);
};

const transport = createGrpcWebTransport({
  baseUrl: window.location.origin,
  useBinaryFormat: true,
  interceptors: [bearer],
});

export const auth: Client<typeof AuthService> = createClient(AuthService, transport);
export const payments: Client<typeof PaymentService> = createClient(PaymentService, transport);
export const events: Client<typeof EventService> = createClient(EventService, transport);
export const analytics: Client<typeof AnalyticsService> = createClient(AnalyticsService, transport);
export const simulator: Client<typeof SimulatorService> = createClient(SimulatorService, transport);
export const webhooks: Client<typeof WebhookService> = createClient(WebhookService, transport);
export const merchants: Client<typeof MerchantService> = createClient(MerchantService, transport);
export const clocks: Client<typeof ClockService> = createClient(ClockService, transport);
export const disputes: Client<typeof DisputeService> = createClient(DisputeService, transport);

export function currentUser(): User | undefined {
  return session?.user;
}

export function isAdmin(): boolean {
  return session?.user.role === Role.ADMIN;
}

export function onSessionChange(listener: () => void): void {
  listeners.add(listener);
}

function changed(): void {
  for (const listener of listeners) listener();
}

export async function login(email: string, password: string): Promise<void> {
  const reply = await auth.login({ email, password });
  if (!reply.tokens || !reply.user) throw new Error("the server answered Login without tokens");
  session = { accessToken: reply.tokens.accessToken, refreshToken: reply.tokens.refreshToken, user: reply.user };
  changed();
}

export async function logout(): Promise<void> {
  const ending = session;
  session = undefined;
  changed();
  if (ending) {
    try {
      await auth.logout({ refreshToken: ending.refreshToken });
    } catch {
      // The session is gone from this page either way; the refresh token expires by itself.
    }
  }
}

/** The ErrorInfo reason of a failed call (e.g. "TOKEN_EXPIRED"), if the server sent one. */
export function reasonOf(error: unknown): string | undefined {
  if (!(error instanceof ConnectError)) return undefined;
  return error.findDetails(ErrorInfoSchema)[0]?.reason;
}

/** A sentence for a person: the server's message and its reason. */
export function describe(error: unknown): string {
  if (error instanceof ConnectError) {
    const reason = reasonOf(error);
    return `${error.rawMessage || Code[error.code]}${reason ? ` (${reason})` : ""}`;
  }
  return error instanceof Error ? error.message : String(error);
}

async function refresh(): Promise<void> {
  const current = session;
  if (!current) throw new Error("not logged in");
  const reply = await auth.refreshToken({ refreshToken: current.refreshToken });
  if (!reply.tokens) throw new Error("the server answered RefreshToken without tokens");
  session = { ...current, accessToken: reply.tokens.accessToken, refreshToken: reply.tokens.refreshToken };
}

/** A new access token (once, for every caller waiting at the same time); a refresh that fails
 * ends the session. */
export async function refreshSession(): Promise<void> {
  refreshing ??= refresh().finally(() => {
    refreshing = undefined;
  });
  try {
    await refreshing;
  } catch (refreshError) {
    session = undefined;
    changed();
    throw refreshError;
  }
}

/** Run a call; when the access token has expired, refresh it and run the call again. */
export async function call<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (reasonOf(error) !== "TOKEN_EXPIRED" || !session) throw error;
    await refreshSession();
    return run();
  }
}
