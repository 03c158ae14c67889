// Prints an scrypt hash for lib/users.ts: node scripts/hash-password.mjs 'the password'
import { randomBytes, scryptSync } from 'node:crypto';

const password = process.argv[2];
if (!password) {
  console.error('usage: node scripts/hash-password.mjs <password>');
  process.exit(2);
}
// N=16384, r=8, p=1: node's defaults, ~50 ms per check on a small machine.
const salt = randomBytes(16);
const hash = scryptSync(password, salt, 32, { N: 16384, r: 8, p: 1 });
console.log(`scrypt$16384$8$1$${salt.toString('base64url')}$${hash.toString('base64url')}`);
