// What a connection presented, as the policy reads it: the names of its CONNECT as sent, and the
// certificate of its TLS session. The adapters fill these in (adapters/aedes/raw-connect.ts,
// adapters/certificate/); the policy never reads a socket or a parser itself.

/** The CONNECT's ClientID and Username as they were sent, before any UTF-8 decoding. */
export interface RawNames {
  clientId: Buffer;
  username?: Buffer;
}

/** A client certificate, as the certificate rules (A1, A3, A5) judge it. */
export interface PresentedCertificate {
  /** The subject's CN attributes, in the order the certificate gives them (usually one). */
  commonNames: string[];
  dns: string[];
  uri: string[];
  ip: string[];
  email: string[];
  /** SHA-256, uppercase hex without separators. */
  thumbprint: string;
  notBefore: Date;
  notAfter: Date;
  /** False when an extended key usage extension is present without clientAuth. */
  clientAuthAllowed: boolean;
  /** Whether the presented chain leads to one of the namespace's registered CAs. */
  chainsToRegisteredCa: boolean;
  /** Why path validation failed (OpenSSL's code, e.g. CERT_HAS_EXPIRED for a sub-CA), when it did. */
  chainProblem?: string;
  /** Why no namespace accepts this certificate at all (a CA certificate, a weak key or signature). */
  unacceptable?: string;
}

/** A token a CONNECT (or an AUTH) presented, as the token rules (T1-T8) judge it (adapters/token/ reads it). */
export interface PresentedToken {
  /** The Authentication Method it came under; an MQTT 3.1.1 password is read as CUSTOM-JWT, for T6 to judge. */
  method: string;
  protocolVersion: 4 | 5;
  /** The CONNECT's Username, which a token client's name does not come from (T1). */
  username?: string;
  /** The claims, read whether or not the signature verifies; undefined when the data is no JWT. */
  claims?: Record<string, unknown>;
  /** Why the signature does not verify with the key of one of the namespace's issuer certificates, when it does not. */
  signatureProblem?: string;
}

/** What a webhook answered to one CONNECT, as the webhook rules (W1-W3) judge it (adapters/webhook/ asks it). */
export type WebhookAnswer =
  /** An HTTP answer: its status, and its body as JSON (undefined when it was none). */
  | { answered: true; status: number; body: unknown }
  /** None: why (not in time, not reachable, the connection broke). */
  | { answered: false; problem: string };
