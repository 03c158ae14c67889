// Every collected Stripe event in shared/fixtures/stripe/events, signed and delivered byte for
// byte: the outcome is processed/ignored/stale/duplicate, or an Error with a code from the
// core's table that is not a signature failure (we signed it correctly). Never a crash.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { test } from 'node:test';

import {
  C_ONLY_CODES,
  NOW,
  PARSE_CODES,
  SECRET,
  VERIFY_CODES,
  assertNoSecret,
  coreErrorCodes,
  jsonFiles,
  open,
  sharedEventsDir,
  sign,
} from './helpers.mjs';

const dir = sharedEventsDir();
if (!dir) {
  console.log('# NOTICE: shared/fixtures/stripe/events not found (set TOLLBOOTH_SHARED); corpus test skipped');
}

test('every shared Stripe event is handled byte for byte', { skip: !dir && 'shared fixtures absent' }, () => {
  const files = jsonFiles(dir);
  assert.ok(files.length >= 100, `expected the collected corpus, found ${files.length} files`);
  const known = new Set(coreErrorCodes().filter((c) => !C_ONLY_CODES.includes(c)));
  const tally = {};
  for (const file of files) {
    const name = relative(dir, file);
    // A fresh store per file: many collected files share placeholder event ids.
    const tb = open();
    const bytes = readFileSync(file); // a Buffer: the exact bytes, never re-serialized
    const header = sign(bytes, SECRET, NOW);
    let first;
    try {
      first = tb.handleWebhookSync(bytes, header, NOW);
    } catch (e) {
      assert.ok(e instanceof Error, `${name}: threw a non-Error`);
      assert.ok(known.has(e.code), `${name}: unknown code ${e.code}`);
      assert.ok(!VERIFY_CODES.has(e.code), `${name}: correctly signed bytes were rejected: ${e.code}`);
      assert.ok(
        PARSE_CODES.has(e.code) || e.code === 'LIVEMODE_MISMATCH',
        `${name}: unexpected code ${e.code}`,
      );
      assertNoSecret(e);
      tally[e.code] = (tally[e.code] ?? 0) + 1;
      continue;
    }
    if (first.outcome === 'quarantined') {
      assert.ok(PARSE_CODES.has(first.reason) || first.reason === 'LIVEMODE_MISMATCH', `${name}: ${first.reason}`);
      tally[first.reason] = (tally[first.reason] ?? 0) + 1;
      continue;
    }
    // A first delivery into an empty store is never a duplicate.
    assert.ok(['processed', 'ignored', 'stale'].includes(first.outcome), `${name}: ${first.outcome}`);
    const parsed = JSON.parse(bytes.toString('utf8'));
    assert.equal(first.eventId, parsed.id, `${name}: event id`);
    assert.equal(first.eventType, parsed.type, `${name}: event type`);
    assertNoSecret(first);
    tally[first.outcome] = (tally[first.outcome] ?? 0) + 1;
    // Stripe delivers at least once: the same bytes again change nothing.
    const again = tb.handleWebhookSync(bytes, header, NOW + 1);
    assert.equal(again.outcome, 'duplicate', `${name}: redelivery`);
    assert.deepEqual(again.jobs, [], `${name}: a duplicate enqueues nothing`);
    tb.closeSync();
  }
  console.log(`# corpus: ${files.length} files: ${JSON.stringify(tally)}`);
  assert.ok((tally.processed ?? 0) > 0, 'some events must move state');
});

test('every shared event gives the same answer as a Buffer (Sync) and as an offset Uint8Array, ArrayBuffer or DataView (Promise)', { skip: !dir && 'shared fixtures absent' }, async () => {
  const engines = [open(), open(), open(), open()];
  const verdict = (h) => ({ outcome: h.outcome, jobs: h.jobs.map((j) => j.kind) });
  const failure = (e) => ({ code: e.code });
  for (const file of jsonFiles(dir)) {
    const bytes = readFileSync(file);
    const header = sign(bytes, SECRET, NOW);
    // The same bytes inside a larger buffer, so a view's offset and length must be honoured.
    const padded = new Uint8Array(bytes.length + 16);
    padded.set(bytes, 8);
    const view = padded.subarray(8, 8 + bytes.length);
    const own = padded.slice(8, 8 + bytes.length).buffer;
    const dataView = new DataView(padded.buffer, 8, bytes.length);
    const answers = [];
    try {
      answers.push(verdict(engines[0].handleWebhookSync(bytes, header, NOW)));
    } catch (e) {
      answers.push(failure(e));
    }
    for (const [tb, body] of [[engines[1], view], [engines[2], own], [engines[3], dataView]]) {
      answers.push(await tb.handleWebhook(body, header, NOW).then(verdict, failure));
    }
    for (const a of answers.slice(1)) assert.deepEqual(a, answers[0], relative(dir, file));
  }
});
