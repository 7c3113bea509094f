import { SignJWT, jwtVerify } from 'jose';
import type { Superuser } from './superusers.js';

/** PocketBase's id of its `_superusers` collection; the SDK only echoes it. */
export const SUPERUSERS_COLLECTION_ID = 'pbc_3142635823';

export interface TokenClaims {
  superuserId: string;
  tokenKey: string;
}

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
    try {
      const { payload } = await jwtVerify(token, this.secret, { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] });
      if (payload.type !== 'auth' || typeof payload.sub !== 'string' || typeof payload.tokenKey !== 'string') return null;
      return { superuserId: payload.sub, tokenKey: payload.tokenKey };
    } catch {
      return null;
    }
  }
}
