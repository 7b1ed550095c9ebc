// What the instances of one namespace count and list together, beside the session store: the use of each
// held session's offline queue (L8), and the members of each shared subscription group (M3). In one
// process they are plain maps (adapters/aedes/local-tallies.ts); instances sharing a namespace keep them
// in Redis (adapters/redis/redis-tallies.ts), so that a queue filled from several instances overflows
// once, at its limit, and a group's message goes to one member wherever the members are connected.
import type { QueueUse } from '../policy/behaviour.ts';

export interface QueueCounts {
  /** Counts one more message of `bytes` queued for the session; the queue's use now, or undefined when the store knows the session connected (not held: not counted). A store that reads the queue itself may ignore `bytes`. */
  add(sessionName: string, bytes: number): Promise<QueueUse | undefined>;
  /** The queue overflowed: true only for the first caller since the count began (the session is ended once). */
  claimOverflow(sessionName: string): Promise<boolean>;
  /** The owner is back, or the session ended: the count starts again from nothing. */
  reset(sessionName: string): Promise<void>;
}

export interface GroupMember {
  name: string;
  /** Connected at this instance (else at another). */
  local: boolean;
}

export interface GroupDirectory {
  join(group: string, sessionName: string): Promise<void>;
  leave(group: string, sessionName: string): Promise<void>;
  /** The group's members whose session a connection holds now, at any instance, in one order every instance sees. */
  connectedMembers(group: string): Promise<GroupMember[]>;
  /** With no member connected, a message is queued for a held member by one instance: true for the first to ask. */
  claimMessage(group: string, messageId: string): Promise<boolean>;
}
