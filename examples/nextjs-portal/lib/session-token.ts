// Signed session tokens: `base64url(JSON payload).base64url(HMAC-SHA256)`, keyed by SESSION_SECRET.
// No Next.js imports, so proxy.ts, server components and route handlers can all use it.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'portal_session';
export const SESSION_MAX_AGE_S = 8 * 3600;

export interface SessionPayload {
  /** App user id. */
  uid: string;
  /** Expiry, unix seconds. */
  exp: number;
}

function secret(): string {
  const s = process.env.SESSION_SECRET;
  if (!s || s.length < 32) {
    throw new Error('SESSION_SECRET must be set (32+ characters)');
  }
  return s;
}

function mac(data: string): Buffer {
  return createHmac('sha256', secret()).update(data).digest();
}

export function signSession(uid: string, nowS = Math.floor(Date.now() / 1000)): string {
  const payload: SessionPayload = { uid, exp: nowS + SESSION_MAX_AGE_S };
  const data = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${data}.${mac(data).toString('base64url')}`;
}

/** The payload of a valid, unexpired token; null for anything else. */
export function verifySession(
  token: string | undefined | null,
  nowS = Math.floor(Date.now() / 1000),
): SessionPayload | null {
  if (!token) return null;
  const dot = token.indexOf('.');
  if (dot <= 0) return null;
  const data = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = mac(data);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const payload = JSON.parse(Buffer.from(data, 'base64url').toString('utf8')) as SessionPayload;
    if (typeof payload.uid !== 'string' || typeof payload.exp !== 'number') return null;
    return payload.exp > nowS ? payload : null;
  } catch {
    return null;
  }
}

/** Whether to mark the cookie `Secure` (default: in production; COOKIE_SECURE=false to opt out). */
export function cookieSecure(): boolean {
  if (process.env.COOKIE_SECURE === 'false') return false;
  if (process.env.COOKIE_SECURE === 'true') return true;
  return process.env.NODE_ENV === 'production';
}
