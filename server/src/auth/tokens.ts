import { SignJWT, jwtVerify } from 'jose';
import type { Superuser } from './superusers.js';

/** PocketBase's id of its `_superusers` collection; the SDK only echoes it. */
export const SUPERUSERS_COLLECTION_ID = 'pbc_3142635823';

export interface TokenClaims {
  superuserId: string;
  tokenKey: string;
}

/** How many checked tokens `verify` remembers; past it, the oldest goes first. */
const CHECKED_TOKENS = 1000;

/**
 * HS256 JWTs shaped like PocketBase's auth tokens (`id`, `type`, `collectionId`, `exp`), so
 * the `pocketbase` SDK reads them as its own. The superuser's token key rides along: a
 * password change replaces it, which is how old tokens are revoked.
 */
export class TokenSigner {
  constructor(
    private readonly secret: Uint8Array,
    /** Token lifetime in ms. */
    private readonly duration: number,
  ) {}

  /**
   * Tokens whose signature `verify` checked, with their claims and expiry (ms): a token's
   * signature never changes its answer, and checking it (an HMAC through WebCrypto, importing
   * the key each time) was a seventh of the server's CPU per enqueue. Only good tokens are
   * kept, so made-up ones cannot fill it; expiry is still checked on every use, and the caller
   * still reads the superuser (a deleted one or a new password still revokes at once).
   */
  private readonly checked = new Map<string, { claims: TokenClaims; expiresAt: number }>();

  issue(superuser: Superuser): Promise<string> {
    // Rounded down: a token never lives longer than asked.
    const expiresAt = Math.floor((Date.now() + this.duration) / 1000);
    return new SignJWT({
      id: superuser.id,
      type: 'auth',
      collectionId: SUPERUSERS_COLLECTION_ID,
      // PocketBase's claim: auth-refresh exchanges such a token for a new one.
      refreshable: true,
      tokenKey: superuser.tokenKey,
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(superuser.id)
      .setIssuedAt()
      .setExpirationTime(expiresAt)
      .sign(this.secret);
  }

  /** The claims of a well-signed, unexpired token of ours, or null for anything else. */
  async verify(token: string): Promise<TokenClaims | null> {
    const known = this.checked.get(token);
    if (known) {
      // jose's rule: expired once the clock's whole seconds reach `exp`.
      if (Date.now() < known.expiresAt) return known.claims;
      this.checked.delete(token);
      return null;
    }
    try {
      const { payload } = await jwtVerify(token, this.secret, { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] });
      if (payload.type !== 'auth' || typeof payload.sub !== 'string' || typeof payload.tokenKey !== 'string') return null;
      const claims = { superuserId: payload.sub, tokenKey: payload.tokenKey };
      if (this.checked.size >= CHECKED_TOKENS) this.checked.delete(this.checked.keys().next().value!);
      this.checked.set(token, { claims, expiresAt: payload.exp! * 1000 });
      return claims;
    } catch {
      return null;
    }
  }
}
