// How an Event Grid namespace authenticates a client certificate: the validation schemes a client may
// be registered with, and the certificate fields a namespace may read an authentication name from.

/** A client's clientCertificateAuthentication.validationScheme (A3). */
export const VALIDATION_SCHEMES = [
  'SubjectMatchesAuthenticationName',
  'DnsMatchesAuthenticationName',
  'UriMatchesAuthenticationName',
  'IpMatchesAuthenticationName',
  'EmailMatchesAuthenticationName',
  'ThumbprintMatch',
] as const;
export type ValidationScheme = (typeof VALIDATION_SCHEMES)[number];

/** The namespace's alternativeAuthenticationNameSources, read in order when there is no Username (A5). */
export const NAME_SOURCES = [
  'ClientCertificateSubject',
  'ClientCertificateDns',
  'ClientCertificateUri',
  'ClientCertificateIp',
  'ClientCertificateEmail',
] as const;
export type AuthenticationNameSource = (typeof NAME_SOURCES)[number];
