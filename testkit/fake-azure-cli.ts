// Puts testkit/fake-az.mjs on a PATH as `az`, over a namespace kept in a JSON file, for the
// provisioning tests: they run the generated scripts and `provision --dry-run` against it and read
// back what the namespace became and which calls were made.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** A namespace as the fake keeps it: az's view of it, and its children by kind and name. */
export interface FakeNamespace {
  resourceGroup: string;
  namespace: { name: string; location: string; sku: { name: string; capacity: number }; properties: { topicSpacesConfiguration: Record<string, unknown> } & Record<string, unknown> };
  children: Record<string, Record<string, Record<string, unknown>>>;
}

export interface FakeAz {
  /** The environment to run a script or the tool in: the fake first on PATH. */
  env: NodeJS.ProcessEnv;
  state(): FakeNamespace;
  /** Every call so far, its arguments. */
  calls(): string[][];
}

export function fakeAz(dir: string, initial: FakeNamespace): FakeAz {
  const statePath = join(dir, 'namespace-state.json');
  const record = join(dir, 'az-calls.ndjson');
  writeFileSync(statePath, JSON.stringify(initial));
  writeFileSync(record, '');
  const az = join(dir, 'az');
  writeFileSync(az, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(resolve('testkit/fake-az.mjs'))} "$@"\n`);
  chmodSync(az, 0o755);
  return {
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, FAKE_AZ_STATE: statePath, AZ_RECORD: record },
    state: () => JSON.parse(readFileSync(statePath, 'utf8')) as FakeNamespace,
    calls: () =>
      readFileSync(record, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as string[]),
  };
}
