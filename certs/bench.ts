// npm run bench:certs: how long a whole PKI set takes to make (target: 1.5 s on 2 cores), with key
// generation alone, measured in the same process, as the baseline it is bounded by.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { IDENTITY_SPECS } from './identities.ts';
import { ensurePki } from './pki.ts';
import { temporaryDir } from '../common/test-support.ts';
import { newKeyPair } from './x509.ts';

const ROUNDS = 5;
const keyCount = 4 + IDENTITY_SPECS.length;

async function timed(task: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await task();
  return performance.now() - start;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const sets: number[] = [];
const keysOnly: number[] = [];
for (let round = 1; round <= ROUNDS; round += 1) {
  const dir = join(temporaryDir(), 'pki');
  sets.push(await timed(() => ensurePki({ outDir: dir })));
  keysOnly.push(await timed(() => Promise.all(Array.from({ length: keyCount }, () => newKeyPair()))));
  rmSync(dir, { recursive: true, force: true });
  console.log(`round ${round}/${ROUNDS}: whole set ${sets.at(-1)!.toFixed(0)} ms, ${keyCount} keys alone ${keysOnly.at(-1)!.toFixed(0)} ms`);
}
const set = median(sets);
const keys = median(keysOnly);
console.log(`median whole set: ${set.toFixed(0)} ms (target 1500 ms), ${keyCount} RSA-2048 keys alone: ${keys.toFixed(0)} ms`);
console.log(`ratio whole set / keys alone: ${(set / keys).toFixed(2)}`);
