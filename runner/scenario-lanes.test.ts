import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { loadConfiguration, loadSupport, runCucumber, type IRunConfiguration, type ISupportCodeLibrary } from '@cucumber/cucumber/api';
import { beforeAll, describe, expect, it } from 'vitest';
import { useLanes } from './scenario-lanes.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/lanes/', import.meta.url));

interface LanesRecord {
  running: Set<string>;
  starts: string[];
  beside: Record<string, Set<string>>;
  most: number;
  /** The most uncaughtException listeners the process had while a step ran. */
  listeners?: number;
}

// The support code loads once: a module imports once per process (runner/run.ts does the same).
let configuration: IRunConfiguration;
let support: ISupportCodeLibrary;
beforeAll(async () => {
  ({ runConfiguration: configuration } = await loadConfiguration({
    file: false,
    provided: { paths: [join(FIXTURE, 'lanes.feature')], import: [join(FIXTURE, 'lanes.steps.mjs')], format: [] },
  }));
  support = await loadSupport(configuration);
});

/** Runs the fixture's six scenarios in `lanes` lanes, "urgent" ranked first; what they recorded. */
async function runFixture(lanes: number): Promise<{ success: boolean; record: LanesRecord }> {
  const record: LanesRecord = { running: new Set(), starts: [], beside: {}, most: 0 };
  (globalThis as { lanesRecord?: LanesRecord }).lanesRecord = record;
  useLanes(lanes, (pickle) => (pickle.name === 'urgent' ? 1 : 0));
  const { success } = await runCucumber({ ...configuration, support }, { stdout: new Writable({ write: (_chunk, _encoding, done) => done() }) });
  return { success, record };
}

describe("cucumber's in-process adapter, given lanes", () => {
  it('runs up to that many scenarios at once, the highest rank first', async () => {
    const { success, record } = await runFixture(3);
    expect(success).toBe(true);
    expect(record.starts).toHaveLength(6);
    expect(record.starts[0]).toBe('urgent');
    expect(record.most).toBe(3);
  });

  it('never starts a scenario beside those setParallelCanAssign keeps it from', async () => {
    const { record } = await runFixture(3);
    expect([...record.beside.alone!]).toEqual([]);
  });

  it('lets each lane listen for uncaught exceptions without a leak warning, and then restores the limit', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    const before = process.getMaxListeners();
    // As low as the listeners that are there before any lane runs: one more would warn.
    process.setMaxListeners(process.listenerCount('uncaughtException'));
    try {
      const { record } = await runFixture(3);
      // Lanes at once do add listeners: with the limit left as it was, they would have warned.
      expect(record.listeners).toBeGreaterThan(process.listenerCount('uncaughtException') + 1);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([]);
      expect(process.getMaxListeners()).toBe(process.listenerCount('uncaughtException'));
    } finally {
      process.setMaxListeners(before);
      process.off('warning', onWarning);
    }
  });

  it('with one lane, runs them one after another in their order, the highest rank first', async () => {
    const { success, record } = await runFixture(1);
    expect(success).toBe(true);
    expect(record.starts.join()).toBe('urgent,first,second,third,alone,fifth');
    expect(record.most).toBe(1);
  });
});
