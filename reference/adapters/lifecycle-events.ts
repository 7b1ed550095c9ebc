// L4: client session life cycle events (the event sink, reference/ports/event-sink.ts), as CloudEvents of the types Event Grid emits, to an in-process
// stream and, optionally, an NDJSON file (one event a line).
import { appendFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { DisconnectionReason, EventSink, SessionRef } from '../ports/event-sink.ts';

export const SESSION_CONNECTED = 'Microsoft.EventGrid.MQTTClientSessionConnected';
export const SESSION_DISCONNECTED = 'Microsoft.EventGrid.MQTTClientSessionDisconnected';

export interface LifecycleEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: typeof SESSION_CONNECTED | typeof SESSION_DISCONNECTED;
  subject: string;
  time: string;
  data: {
    namespaceName: string;
    clientAuthenticationName: string;
    clientSessionName: string;
    sequenceNumber: number;
    disconnectionReason?: DisconnectionReason;
  };
}

export class LifecycleEvents extends EventEmitter<{ event: [LifecycleEvent] }> implements EventSink {
  /** Per session, so that a consumer can order one session's events. */
  private readonly sequence = new Map<string, number>();

  constructor(
    private readonly namespaceName: string,
    private readonly ndjsonFile?: string,
    private readonly clock: () => number = Date.now,
  ) {
    super();
  }

  /** The session ended: a later session of that name numbers its events from 1. */
  forget(sessionName: string): void {
    this.sequence.delete(sessionName);
  }

  connected(session: SessionRef): LifecycleEvent {
    return this.emitEvent(SESSION_CONNECTED, session);
  }

  disconnected(session: SessionRef, reason: DisconnectionReason): LifecycleEvent {
    return this.emitEvent(SESSION_DISCONNECTED, session, reason);
  }

  private emitEvent(type: LifecycleEvent['type'], session: SessionRef, reason?: DisconnectionReason): LifecycleEvent {
    const sequenceNumber = (this.sequence.get(session.sessionName) ?? 0) + 1;
    this.sequence.set(session.sessionName, sequenceNumber);
    const event: LifecycleEvent = {
      specversion: '1.0',
      id: randomUUID(),
      source: `namespaces/${this.namespaceName}`,
      type,
      subject: `clients/${session.authenticationName}/sessions/${session.sessionName}`,
      time: new Date(this.clock()).toISOString(),
      data: {
        namespaceName: this.namespaceName,
        clientAuthenticationName: session.authenticationName,
        clientSessionName: session.sessionName,
        sequenceNumber,
        ...(reason ? { disconnectionReason: reason } : {}),
      },
    };
    if (this.ndjsonFile) appendFileSync(this.ndjsonFile, `${JSON.stringify(event)}\n`);
    this.emit('event', event);
    return event;
  }
}
