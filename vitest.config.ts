import { defineConfig } from 'vitest/config';

/**
 * The tests that run the whole suite as its users do, minutes each: against every mutant of the
 * reference, brokers nobody configured for it (mosquitto, 20 runs of L14 among them; aedes 1.x), faulty brokers,
 * a relay, a target file, a provisioned template, and the package installed into empty projects.
 * `npm run test:all` (and CI) runs them; `npm test` leaves them out to stay within a few minutes.
 */
const SUITE_RUNS = [
  'runner/mutants.test.ts',
  'runner/foreign.test.ts',
  'runner/package.test.ts',
  'runner/remote.test.ts',
  'runner/relay.test.ts',
  'runner/provision-roundtrip.test.ts',
  'runner/detection.test.ts',
  'runner/versions.test.ts',
  'runner/aedes-v1.test.ts',
];

export default defineConfig({
  test: {
    exclude: ['node_modules/**', 'dist/**'],
    globalSetup: ['vitest.global-setup.ts'],
    setupFiles: ['vitest.setup.ts'],
    // Tests start TLS servers and generate keys: give a loaded 2-core machine room.
    testTimeout: 20_000,
    // Concurrent tests are whole conformance runs against mutant brokers: three at a time fit 2 cores.
    maxConcurrency: 3,
    // Files at once. vitest's default on 2 cores is one, but many files mostly wait (for an expiry, a
    // Keep Alive, a child process's run against a broker paced one scenario at a time): two let those
    // waits overlap the files that compute; three overloaded 2 cores enough that the suite's 2 s
    // session expiry ran out under scenarios that resume a session.
    maxWorkers: 2,
    hookTimeout: 30_000,
    // verbose: one line per test as it finishes, so that long files (the mutants, the packed tarball)
    // show progress. The JSON file feeds the plain summary line that .ci/run prints.
    reporters: ['verbose', ['json', { outputFile: 'reports/vitest.json' }]],
    projects: [
      { extends: true, test: { name: 'quick', include: ['**/*.test.ts'], exclude: ['node_modules/**', 'dist/**', ...SUITE_RUNS] } },
      { extends: true, test: { name: 'suite-runs', include: SUITE_RUNS } },
    ],
  },
});
