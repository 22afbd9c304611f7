// A short-lived, bounded memory of who a credential belongs to, so that an authenticated read does not
// pay for a full session check every time. Revocations, in this process or told of by another, forget entries at once.

interface Entry<T> {
  value: T;
  userId: string;
  expiresAt: number;
}

/** Maps a credential (a signed session cookie, an API key) to its principal for at most `ttlMs`. */
export class PrincipalCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  #generation = 0;

  /** Moves on at every forget: a lookup that began before one must not store what it found (`set`'s `since`). */
  get generation(): number {
    return this.#generation;
  }

  constructor(
    private readonly ttlMs = 5_000,
    private readonly maxEntries = 10_000,
    private readonly now = () => Date.now(),
  ) {}

  get(credential: string): T | undefined {
    const entry = this.entries.get(credential);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(credential);
      return undefined;
    }
    return entry.value;
  }

  /**
   * Remembers `value` until the TTL passes or `notAfter` (the credential's own expiry), whichever is first; not
   * when something was forgotten since `since` (the generation its lookup began in), which it may predate.
   */
  set(
    credential: string,
    userId: string,
    value: T,
    notAfter = Number.POSITIVE_INFINITY,
    since = this.#generation,
  ): void {
    if (this.ttlMs <= 0 || since !== this.#generation) return;
    if (this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(credential, { value, userId, expiresAt: Math.min(this.now() + this.ttlMs, notAfter) });
  }

  forgetCredential(credential: string): void {
    this.#generation++;
    this.entries.delete(credential);
  }

  /** Forgets the credentials `which` picks (a credential named by its hash, say), or every one. */
  forgetWhere(which: (credential: string) => boolean = () => true): void {
    this.#generation++;
    for (const credential of this.entries.keys()) if (which(credential)) this.entries.delete(credential);
  }

  /** Forgets every credential of one user: their sessions were revoked or their role changed. */
  forgetUser(userId: string): void {
    this.#generation++;
    for (const [credential, entry] of this.entries) {
      if (entry.userId === userId) this.entries.delete(credential);
    }
  }
}
