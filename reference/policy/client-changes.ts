// A7: a registered client changed while connected. Event Grid's life cycle events name the reason such a
// connection ends: ClientAuthenticationError, "for any authentication reasons (for example, certificate
// expired, client got disabled, or client configuration changed)" (SOURCES.REASONS). Disabling the client
// and changing what proves it (its authentication name, validation scheme or thumbprints) end its live
// connections; the code is the project's reading, as for a token that expires (T8): DISCONNECT 0x87.
// A change to its attributes alone is a matter of client groups, an authorization reason
// (ClientAuthorizationError), which the reference does not judge again on a live connection.
import type { ClientChangePieces, Mutant } from './behaviour.ts';
import { refuse } from './refusal.ts';

const CREDENTIALS = ['authenticationName', 'clientCertificateAuthentication'] as const;

export const EVENT_GRID_CLIENT_CHANGES: ClientChangePieces = {
  connectionEndsOnChange(before, after) {
    if (after.state === 'Disabled' && before.state !== 'Disabled') return refuse('A7', `client "${after.name}" was disabled`);
    const changed = CREDENTIALS.filter((field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]));
    if (changed.length) return refuse('A7', `the credentials of client "${after.name}" changed (${changed.join(', ')})`);
    return undefined;
  },
};

export const CLIENT_CHANGE_MUTANTS: readonly Mutant[] = [
  {
    rule: 'A7',
    breaks: "a client's live connections go on after it is disabled or its credentials change (until it reconnects)",
    apply: (behaviour) => ({ ...behaviour, connectionEndsOnChange: () => undefined }),
  },
];
