// What a conformance run knows about its target: handed from the runner to every scenario as
// cucumber's world parameters (so plain JSON).
import type { MqttVersion } from '../rules/catalogue.ts';
import { isCapabilityTag, rulesOfTags, versionOfTags } from '../rules/tags.ts';

export interface TargetParameters {
  /** mqtts://host:port, or wss://host:port/mqtt: the transport the run's connections take */
  url: string;
  /** PEM file of the CA that signed the endpoint's server certificate. */
  caFile: string;
  /** Where caFile came from, for messages: "--ca", "MMC_CA", "the target file x.json". Default "--ca". */
  caOrigin?: string;
  /** A PKI folder as `npm run certs` writes it. */
  identitiesDir: string;
  /** maximumClientSessionsPerAuthenticationName of the namespace (at least this, when not known). */
  sessionLimit: number;
  /** Whether sessionLimit is the limit (declared, or seen enforced), not only a lower bound. */
  sessionLimitKnown: boolean;
  /**
   * Seen by the probe, with no session limit declared: after this many connections the target turned
   * every identity away, not only the one at its limit. S9 is then judged "limited by connections".
   */
  connectionCap?: number;
  /** The namespace's maximum session expiry, seconds. */
  maxSessionExpirySeconds: number;
  /** Whether that maximum was declared (then L1 expects exactly it), not probed or assumed (then L1 expects Event Grid's range). */
  maxSessionExpiryDeclared: boolean;
  /** MQTT versions the target does not speak, with what it answered: their scenarios are skipped with it. */
  unsupportedVersions: Partial<Record<MqttVersion, string>>;
  /** Session Expiry Interval the MQTT 5 scenarios that wait for an expiry ask for. */
  shortSessionExpirySeconds: number;
  /**
   * Session Expiry Interval the other MQTT 5 scenarios' persistent sessions ask for: long enough that
   * a session outlives the pauses of a loaded machine before its owner resumes it, short enough that
   * one a scenario failed to end does not linger.
   */
  sessionExpirySeconds: number;
  /** Whether the namespace reads names from certificates when the Username is absent. */
  alternativeNameSources: boolean;
  /**
   * A second namespace, with the same CA and identities, whose alternativeAuthenticationNameSources
   * are ClientCertificateDns then ClientCertificateSubject: the A5 scenarios run there.
   */
  alternativeNamesUrl?: string;
  /**
   * A namespace like the target, with the same CA and identities and a session limit of its own, where
   * the scenarios that fill an identity's limit (S9) run: the embedded target's has a limit of 2, its
   * main namespace two per lane. Absent, they fill `sessionLimit` on the target itself.
   */
  limitNamespace?: {
    url: string;
    /** The same namespace authenticating by the suite's test webhook, for the webhook's S9 scenarios; absent, they fill `webhookUrl`'s limit. */
    webhookUrl?: string;
    sessionLimit: number;
  };
  /**
   * A namespace like the target, with the same CA and identities, whose maximum session expiry is
   * short: the scenarios that wait for an expiry run there. The embedded target's keeps sessions 2 s,
   * its other namespaces 4 s, so that the sessions of the other scenarios outlive a loaded machine's
   * pauses. Absent, they wait for the target's own.
   */
  shortExpiryNamespace?: {
    url: string;
    /** The same namespace authenticating by the suite's test webhook, for the webhook's scenarios that wait for an expiry. */
    webhookUrl?: string;
    /** The alternative-names namespace's twin, for its scenarios that wait for an expiry; absent, they wait for its own. */
    alternativeNamesUrl?: string;
    maxSessionExpirySeconds: number;
  };
  /** At most one connection attempt per second per session name (Event Grid's limit). */
  pace: boolean;
  /**
   * Clients resume their TLS sessions: the embedded reference, which reads a resumed session's
   * certificate as it reads a full handshake's (reference/tls-peer.test.ts). A remote target gets a full
   * handshake on every connection, so that its verdicts never hang on how it resumes sessions.
   */
  resumeTls: boolean;
  /**
   * How long after a token's expiry the target may take to end its connection (T7, T8). The embedded
   * reference ends it on a timer at the expiry itself; how promptly Event Grid does is not documented.
   */
  tokenExpiryMarginMs: number;
  /** Run scenarios tagged @slow (waits as long as the namespace's maximum expiry). */
  includeSlow: boolean;
  /** --strict-codes: a refusal, in whatever packet, must carry the code the project infers, not only the documented outcome. */
  strictCodes?: boolean;
  /**
   * First level(s) of every topic the suite uses: `<topicRoot>/<authentication name>/…`
   * (eventgrid/suite-contract.ts). The namespace's permission bindings must grant it (npm run provision
   * --topic-root writes them).
   */
  topicRoot: string;
  /**
   * A namespace like the target that authenticates every CONNECT by the suite's test webhook
   * (reference/webhook-service.ts): the @webhook scenarios run there. The embedded reference has one.
   */
  webhookUrl?: string;
  /**
   * The reference's management API for the main namespace's clients (reference/management-api.ts): the
   * A7 scenarios disable a client, or change its credentials, while it is connected. Absent elsewhere:
   * on Event Grid that is an ARM update the suite does not make.
   */
  clientsUrl?: string;
  /** The namespace is the reference's, whose Microsoft Entra ID stand-in takes the set's OAUTH2-JWT tokens (E1, E2). */
  entraStandIn?: boolean;
  /** The namespace trusts the PKI set's local token issuer (custom JWT: its certificate, issuer and audience): the @custom-jwt scenarios run. */
  tokenIssuerTrusted?: boolean;
  /** Rules the user chose not to run, with why. */
  skipRules: Record<string, string>;
  /**
   * Namespaces served by several instances (front ends): by the URL that names the namespace above
   * (`url`, `limitNamespace.url`, …), every instance's URL. A scenario's connections take them in turn,
   * so that each rule is judged across instances (steps/world.ts).
   */
  instances?: Record<string, string[]>;
}

/** Why a scenario with this tag cannot run against the target, or undefined if it can. */
export function missingCapability(tag: string, target: TargetParameters): string | undefined {
  const [rule] = rulesOfTags([tag]);
  if (rule && target.skipRules[rule]) return `the target file skips ${rule}: ${target.skipRules[rule]}`;
  const version = versionOfTags([tag]);
  if (version) return target.unsupportedVersions[version];
  if (tag === '@custom-jwt') {
    return target.tokenIssuerTrusted
      ? undefined
      : "needs a namespace that trusts the PKI set's token issuer (custom JWT): register it (npm run provision -- --custom-jwt) and say so in the target file (namespace.customJwt: true)";
  }
  if (tag === '@oauth2-jwt') return target.entraStandIn ? undefined : "needs the reference broker's Microsoft Entra ID stand-in (a namespace's own tenant issues the tokens it takes)";
  if (tag === '@webhook') return target.webhookUrl ? undefined : "needs a namespace that authenticates by the suite's test webhook (the embedded reference broker has one)";
  if (!isCapabilityTag(tag)) return undefined;
  switch (tag) {
    case '@needs-two-sessions':
      return target.sessionLimit >= 2 ? undefined : `needs a session limit of 2 or more; the target allows ${target.sessionLimit}`;
    case '@needs-three-sessions':
      return target.sessionLimit >= 3 ? undefined : `needs a session limit of 3 or more; the target allows ${target.sessionLimit}`;
    case '@needs-known-session-limit':
      return target.sessionLimitKnown
        ? undefined
        : `no session limit could be observed: the target turned every identity away after ${target.sessionLimit} connections (a connection cap): declare the namespace's limit (--session-limit)`;
    case '@needs-no-alternative-name-sources':
      return target.alternativeNameSources ? 'the target reads names from certificate fields when the Username is absent' : undefined;
    case '@on-alternative-names-namespace':
      return target.alternativeNamesUrl
        ? undefined
        : 'needs a second namespace that reads names from the DNS name, then the subject: pass --alternative-names-target';
    case '@changes-clients':
      return target.clientsUrl
        ? undefined
        : "changes a registered client while it is connected, through the embedded reference's management API (on Event Grid: az eventgrid namespace client update, which the suite does not run)";
    case '@slow':
      return target.includeSlow
        ? undefined
        : `waits for the namespace's maximum session expiry (${target.maxSessionExpirySeconds} s): run with --include-slow`;
  }
}
