import 'server-only';
import { scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCb) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem?: number },
) => Promise<Buffer>;

export type Role = 'customer' | 'admin';

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
}

interface StoredUser extends User {
  /** `scrypt$N$r$p$salt$hash` (base64url), made by scripts/hash-password.mjs. */
  passwordHash: string;
}

/**
 * The demo's users. A real portal keeps these in its database; the Stripe side only ever sees
 * `id`, passed as Checkout's `client_reference_id`, which is how tollbooth links a Stripe
 * customer to the app user. Passwords (demo only, see README): ada-demo-password,
 * grace-demo-password, admin-demo-password.
 */
const USERS: StoredUser[] = [
  {
    id: 'user_ada',
    email: 'ada@example.com',
    name: 'Ada Lovelace',
    role: 'customer',
    passwordHash:
      'scrypt$16384$8$1$1qDInJl94Nb7t9ra7oZCrw$hjpHDciU7RDGMV7FMPRjxJSE_Cdrr_7uMBMdzfUfMa0',
  },
  {
    id: 'user_grace',
    email: 'grace@example.com',
    name: 'Grace Hopper',
    role: 'customer',
    passwordHash:
      'scrypt$16384$8$1$s3BTmN-u4prh8AwVkOYKGA$WybLUgX3JZrL6_XKv161NM0F3904_EoqStxsuaO02J0',
  },
  {
    id: 'user_admin',
    email: 'admin@example.com',
    name: 'Ops Admin',
    role: 'admin',
    passwordHash:
      'scrypt$16384$8$1$5qW_A8LCupbQh1f1BuXx6w$MwyvzCv1C4JxSiS0IPcfXakaD9wCaqA8yRIuH1rFJgM',
  },
];

function publicUser({ passwordHash: _omit, ...user }: StoredUser): User {
  return user;
}

export function userById(id: string): User | null {
  const u = USERS.find((x) => x.id === id);
  return u ? publicUser(u) : null;
}

export function demoUsers(): User[] {
  return USERS.map(publicUser);
}

// A hash to check against when the email is unknown, so both paths cost one scrypt.
const DUMMY_HASH = USERS[0].passwordHash;

async function verifyHash(password: string, encoded: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = encoded.split('$');
  if (scheme !== 'scrypt') return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** The user, when the email and password match; null otherwise (same cost either way). */
export async function authenticate(email: string, password: string): Promise<User | null> {
  const stored = USERS.find((u) => u.email.toLowerCase() === email.trim().toLowerCase());
  const ok = await verifyHash(password, stored?.passwordHash ?? DUMMY_HASH);
  return stored && ok ? publicUser(stored) : null;
}
