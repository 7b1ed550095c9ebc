// The custom JWT authenticator (reference/ports/authenticator.ts, T1-T8): the token a CONNECT or an AUTH
// presented, its signature verified with jose against the namespace's issuer certificates, judged by
// the policy's token checks (policy/token.ts).
import { compactVerify, decodeJwt, importX509, type CryptoKey } from 'jose';
import type { AuthenticatedClient, Authentication, Behaviour, TokenExpectations } from '../../policy/behaviour.ts';
import type { PresentedToken } from '../../policy/presented.ts';
import { authenticateByToken, CUSTOM_JWT } from '../../policy/token.ts';
import type { Authenticator, ConnectAttempt } from '../../ports/authenticator.ts';

/** The signing algorithms an issuer certificate's key is tried with (RSA and EC keys, as identity providers use). */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384'] as const;

/** What a token's bytes say, its signature checked: the PresentedToken the policy judges. */
export class TokenReader {
  private keys?: Promise<{ alg: string; key: CryptoKey }[]>;

  /** `certificates`: PEM, the issuer's (custom JWT) or the tenant's signing keys' (Entra ID). */
  constructor(private readonly certificates: readonly string[]) {}

  /** Each issuer certificate's key, imported once for each algorithm its key type allows. */
  private issuerKeys(): Promise<{ alg: string; key: CryptoKey }[]> {
    this.keys ??= Promise.all(
      this.certificates.flatMap((encodedCertificate) =>
        ALGORITHMS.map((alg) => importX509(encodedCertificate, alg).then((key) => ({ alg, key }), () => undefined)),
      ),
    ).then((keys) => keys.filter((entry) => entry !== undefined));
    return this.keys;
  }

  async read(method: string, protocolVersion: 4 | 5, data: Buffer | undefined, username: string | undefined): Promise<PresentedToken> {
    const token = data?.toString('utf8') ?? '';
    const presented: PresentedToken = { method, protocolVersion, username };
    try {
      presented.claims = decodeJwt(token) as Record<string, unknown>;
    } catch {
      return presented;
    }
    const { alg } = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { alg?: string };
    const candidates = (await this.issuerKeys()).filter((entry) => entry.alg === alg);
    for (const { key } of candidates) {
      try {
        await compactVerify(token, key, { algorithms: [alg!] });
        return presented;
      } catch {
        // the next issuer certificate
      }
    }
    presented.signatureProblem = candidates.length ? 'no issuer certificate verifies it' : `no issuer certificate has a key for ${alg ?? 'no algorithm'}`;
    return presented;
  }
}

export class TokenAuthenticator implements Authenticator {
  private readonly reader: TokenReader;

  /**
   * `expectations`: what a token must be (undefined: the namespace takes no tokens: every one is refused
   * for its method); `certificates`: whose keys may sign one; `roleGrantsOf`: an Entra principal's grants.
   */
  constructor(
    private readonly expectations: TokenExpectations | undefined,
    certificates: readonly string[],
    private readonly behaviour: Behaviour,
    private readonly roleGrantsOf?: (principal: string) => AuthenticatedClient['roleGrants'],
  ) {
    this.reader = new TokenReader(certificates);
  }

  async authenticate({ protocolVersion, authenticationMethod, authenticationData, password, username }: ConnectAttempt, now: Date): Promise<Authentication> {
    // An MQTT 3.1.1 client can only put a token in its password: presented as CUSTOM-JWT, for T6 to refuse.
    const method = protocolVersion === 5 ? (authenticationMethod ?? '') : CUSTOM_JWT;
    const token = await this.reader.read(method, protocolVersion, protocolVersion === 5 ? authenticationData : password, username);
    return authenticateByToken(token, now, this.expectations, this.behaviour, this.roleGrantsOf);
  }
}
