// Reads the reports `npm run test:all` wrote and prints the closing line CI looks for; exits non-zero when
// the tests failed, any test failed, or none ran.
import { existsSync, readFileSync } from 'node:fs';

const npmStatus = Number(process.argv[2] ?? 1);
const counts = { passed: 0, failed: 0, skipped: 0 };

const vitestReport = 'reports/vitest.json';
if (existsSync(vitestReport)) {
  const report = JSON.parse(readFileSync(vitestReport, 'utf8'));
  counts.passed += report.numPassedTests;
  counts.failed += report.numFailedTests;
  counts.skipped += report.numPendingTests + report.numTodoTests;
} else {
  console.log(`${vitestReport} is missing: the type check or the test run stopped before it was written`);
}

// The conformance run against the reference: one verdict a rule and MQTT version.
const rulesReport = 'reports/rules.json';
if (existsSync(rulesReport)) {
  const { totals } = JSON.parse(readFileSync(rulesReport, 'utf8'));
  counts.passed += totals.passed;
  counts.failed += totals.failed;
  counts.skipped += totals.skipped;
} else {
  console.log(`${rulesReport} is missing: the conformance run did not finish`);
}

const skipped = counts.skipped ? `, ${counts.skipped} skipped` : '';
console.log(`tests: ${counts.passed} passed, ${counts.failed} failed${skipped}`);
const ran = counts.passed + counts.failed > 0;
process.exit(npmStatus === 0 && counts.failed === 0 && ran ? 0 : 1);
