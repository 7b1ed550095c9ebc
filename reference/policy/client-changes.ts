// A7: a registered client changed while connected. Event Grid's life cycle events name the reason such a
// connection ends: ClientAuthenticationError, "for any authentication reasons (for example, certificate
// expired, client got disabled, or client configuration changed)" (SOURCES.REASONS). Disabling the client
// and changing what proves it (its authentication name, validation scheme or thumbprints) end its live
// connections; the code is the project's reading, as for a token that expires (T8): DISCONNECT 0x87.
// P5: a change to its attributes that moves it into or out of a client group changes what it may publish
// and subscribe to: an authorization reason, ClientAuthorizationError, "for example, because of a change
// in the configuration of ... client groups" (SOURCES.REASONS). The reference grants a live connection what
// its client had at CONNECT (the packet gate's checks), so such a connection is ended, to come back under
// its new groups. A change to attributes no group query reads changes nothing.
import type { Behaviour, ClientChangePieces, Mutant } from './behaviour.ts';
import { groupsOf } from './access.ts';
import { refuse } from './refusal.ts';

const CREDENTIALS = ['authenticationName', 'clientCertificateAuthentication'] as const;

export const EVENT_GRID_CLIENT_CHANGES: ClientChangePieces = {
  connectionEndsOnChange(namespace, before, after) {
    const authentication = (reason: string) => ({ refusal: refuse('A7', reason), lifecycleReason: 'ClientAuthenticationError' as const });
    if (after.state === 'Disabled' && before.state !== 'Disabled') return authentication(`client "${after.name}" was disabled`);
    const changed = CREDENTIALS.filter((field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]));
    if (changed.length) return authentication(`the credentials of client "${after.name}" changed (${changed.join(', ')})`);
    const [was, is] = [groupsOf(namespace, before), groupsOf(namespace, after)];
    if (was.join('\n') !== is.join('\n')) {
      return { refusal: refuse('P5', `the client groups of client "${after.name}" changed (${is.join(', ')})`), lifecycleReason: 'ClientAuthorizationError' };
    }
    return undefined;
  },
};

/** The behaviour with the endings of one rule dropped: the connection goes on. */
const keepingConnectionsFor =
  (rule: 'A7' | 'P5') =>
  (behaviour: Behaviour): Behaviour => ({
    ...behaviour,
    connectionEndsOnChange: (namespace, before, after) => {
      const ending = behaviour.connectionEndsOnChange(namespace, before, after);
      return ending?.refusal.rule === rule ? undefined : ending;
    },
  });

export const CLIENT_CHANGE_MUTANTS: readonly Mutant[] = [
  { rule: 'A7', breaks: "a client's live connections go on after it is disabled or its credentials change (until it reconnects)", apply: keepingConnectionsFor('A7') },
  { rule: 'P5', breaks: "a client moved into or out of a client group keeps its live connections, with the grants it had at CONNECT", apply: keepingConnectionsFor('P5') },
];
