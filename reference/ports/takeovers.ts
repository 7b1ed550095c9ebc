// A session taken over at one instance of a namespace from a connection at another (S8). One broker
// ends the older connection (DISCONNECT 0x8E, nothing more sent to it) before it answers the newer;
// across instances the one taking over asks the other to end its connection, addressed to it, and
// answers the CONNECT once it has (docs/scaling.md). Absent in one process: aedes ends its own.

/** How the connection asked about had ended when its instance answered. */
export interface TakeoverAnswer {
  /**
   * 'taken': it was live, and is now ended (DISCONNECT 0x8E) and sent nothing more; its session goes on.
   * 'held': it had ended on its own, or never started, and the session goes on as it was.
   * 'ended': it had ended on its own, and its session with it (Session Expiry 0 at its end).
   */
  ending: 'taken' | 'held' | 'ended';
  /** The packet identifier its connection would have given next ('taken'): the newer connection numbers on from it. */
  nextPacketId?: number;
}

export interface Takeovers {
  /**
   * Asks `instance` to end its connection `connectionId`, which held session `sessionName` until this
   * instance claimed it. Undefined when no answer came: the instance is gone, or did not answer in time.
   */
  ask(instance: string, sessionName: string, connectionId: number): Promise<TakeoverAnswer | undefined>;
  /** Answers what other instances ask this one (`from`: the instance taking the session over). */
  serve(answer: (sessionName: string, connectionId: number, from: string) => Promise<TakeoverAnswer>): Promise<void>;
}
