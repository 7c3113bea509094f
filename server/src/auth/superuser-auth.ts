import { randomBytes, timingSafeEqual } from 'node:crypto';
import { hashPassword, verifyPassword } from './password.js';
import { BUSY, PasswordSlots } from './password-slots.js';
import type { SuperuserStore, SettingStore } from '../store/types.js';
import { findSuperuserByEmail, type Superuser } from './superusers.js';
import { loadTokenSecret } from './token-secret.js';
import { TokenSigner } from './tokens.js';
import { DEFAULT_TOKEN_DURATION } from '../defaults.js';

/** How a sign-in ended: the email and password are never told apart. */
export type LoginResult =
  | { outcome: 'signed-in'; token: string; superuser: Superuser }
  | { outcome: 'wrong' }
  /** Too many password checks running already; this one was not made. */
  | { outcome: 'busy' };

export interface SuperuserAuthOptions {
  /** Token lifetime in ms; default 24 h. */
  tokenDuration?: number;
}

/** Signs superusers in and checks their tokens; the HTTP layer's only door to credentials. */
export class SuperuserAuth {
  private constructor(
    private readonly store: SuperuserStore,
    private readonly signer: TokenSigner,
    /** Checked against when the email is unknown, so both answers take one scrypt. */
    private readonly dummyHash: string,
    /** Bounds the scrypt checks of every sign-in, the unknown emails' dummy ones included. */
    private readonly slots = new PasswordSlots(),
  ) {}

  static async create(store: SuperuserStore & SettingStore, options: SuperuserAuthOptions = {}): Promise<SuperuserAuth> {
    const duration = options.tokenDuration ?? DEFAULT_TOKEN_DURATION;
    if (!Number.isInteger(duration) || duration < 1) {
      throw new RangeError(`Option tokenDuration must be a positive integer (ms), got ${String(options.tokenDuration)}.`);
    }
    const [secret, dummyHash] = await Promise.all([
      loadTokenSecret(store),
      hashPassword(randomBytes(16).toString('hex')),
    ]);
    return new SuperuserAuth(store, new TokenSigner(secret, duration), dummyHash);
  }

  /**
   * A token and the superuser, `wrong` when the email or password is wrong (not saying which),
   * or `busy` when too many checks are running. A store error passes through as it is: an
   * outage is the store's `unavailable` (503), and anything else is a bug to see as one, not
   * to dress up as an outage.
   */
  async login(identity: string, password: string): Promise<LoginResult> {
    const checked = await this.slots.run(async () => {
      const superuser = await findSuperuserByEmail(this.store, identity);
      const valid = await verifyPassword(password, superuser?.passwordHash ?? this.dummyHash);
      return valid ? superuser : null;
    });
    if (checked === BUSY) return { outcome: 'busy' };
    if (!checked) return { outcome: 'wrong' };
    return { outcome: 'signed-in', token: await this.signer.issue(checked), superuser: checked };
  }

  /** A new token, with a full lifetime, for a superuser whose token `authenticate` accepted. */
  refresh(superuser: Superuser): Promise<string> {
    return this.signer.issue(superuser);
  }

  /**
   * The superuser a token stands for, or null: bad signature, expired, superuser deleted, or
   * its token key replaced since (a new password).
   */
  async authenticate(token: string): Promise<Superuser | null> {
    const claims = await this.signer.verify(token);
    if (!claims) return null;
    const superuser = await this.store.superuserGetById(claims.superuserId);
    if (!superuser || !sameString(superuser.tokenKey, claims.tokenKey)) return null;
    return superuser;
  }
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
