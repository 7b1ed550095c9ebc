// The session registry in memory, against the contract every session store keeps.
import { MemorySessionStore } from './memory-session-store.ts';
import { sessionStoreContract } from './test-support.ts';

sessionStoreContract('MemorySessionStore', async () => {
  let now = 0;
  return { sessions: new MemorySessionStore(() => now), advance: (ms: number) => (now += ms), now: () => now };
});
