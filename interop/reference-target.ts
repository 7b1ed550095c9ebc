// The reference broker a real-client test talks to: started per test with the run's PKI, and stopped,
// with every client process, after each test of the file that calls useReferenceBroker.
import { afterEach } from 'vitest';
import { startReferenceBroker, type ReferenceBroker } from '../reference/broker.ts';
import { startTestBroker, type TestBroker } from '../testkit/test-broker.ts';
import { identityFiles, killClients, type IdentityFiles } from './real-clients.ts';

/** Registers the clean-up; the function it returns starts a broker and gives its port and each identity's files. */
export function useReferenceBroker(): () => Promise<{ port: number; wsPort: number; files: (id: string) => IdentityFiles }> {
  let t: TestBroker<ReferenceBroker> | undefined;
  afterEach(async () => {
    await killClients();
    await t?.stop();
    t = undefined;
  });
  return async () => {
    const started = await startTestBroker(startReferenceBroker);
    t = started;
    return { port: started.broker.port, wsPort: started.broker.wsPort!, files: (id: string) => identityFiles(started.pki, id) };
  };
}
