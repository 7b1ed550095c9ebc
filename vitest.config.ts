import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
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
  },
});
