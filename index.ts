// The package as a library (`import { startReferenceBroker } from 'mqtt-multisession-conformance'`):
// what a device team needs to test against the reference broker in its own tests. docs/library.md
// shows it in use; everything else in the package is the tool's own and may change.
export { startReferenceBroker, type ReferenceBroker, type ReferenceBrokerOptions } from './reference/broker.ts';
export type { LifecycleEvents } from './reference/adapters/lifecycle-events.ts';
export type { SessionStore } from './reference/ports/session-store.ts';
export { ensurePki, DEFAULT_PKI_DIR, type EnsurePkiOptions, type PkiResult } from './certs/pki.ts';
export { loadPki, serverTlsFromPki, PkiError, type ServerTls, type LoadedPki, type LoadedIdentity, type PkiManifest, type IdentityEntry } from './certs/manifest.ts';
export { namespaceFromPki, type NamespaceFromPkiOptions } from './certs/namespace.ts';
export { issueToken, LOCAL_TOKEN_ISSUER, type TokenRequest } from './certs/tokens.ts';
export { startWebhookService, withWebhook, WEBHOOK_PASSWORDS, allowedAs, type WebhookService, type WebhookServiceOptions } from './reference/webhook-service.ts';
export { parseNamespace, maximumSessionExpirySeconds, NamespaceConfigError, type NamespaceConfig, type NamespaceInput, type ClientResource } from './eventgrid/namespace.ts';
export { readNamespaceFile } from './eventgrid/namespace-file.ts';
export { UserError } from './common/errors.ts';
