// Runs in every test file: its scratch folders go when the file is done (vitest ends its worker
// processes without an exit event, so test-support's own clean-up at exit would not run).
import { afterAll } from 'vitest';
import { removeTemporaryDirs } from './common/test-support.ts';

afterAll(removeTemporaryDirs);
