import pg from 'pg';

/** Who may integrate: exactly one process per database. */
export interface Leadership {
  /** Tries to become (or stay) leader; true while this process leads. */
  acquire(): Promise<boolean>;
  release(): Promise<void>;
}

/** SQLite: one process owns the database file, so it always leads. */
export class SoleLeadership implements Leadership {
  async acquire(): Promise<boolean> {
    return true;
  }
  async release(): Promise<void> {}
}

// Any fixed 64-bit key; it only has to differ from other advisory locks on the same database.
const INTEGRATOR_LOCK_KEY = 0x5741_5244_454e; // "WARDEN"

/**
 * PostgreSQL: the leader holds a session-level advisory lock on a dedicated connection. When the
 * leader dies its session ends, the lock is released, and the next replica to ask takes over.
 */
export class AdvisoryLockLeadership implements Leadership {
  readonly #url: string;
  #client: pg.Client | undefined;
  #held = false;

  constructor(url: string) {
    this.#url = url;
  }

  async acquire(): Promise<boolean> {
    if (this.#held && this.#client !== undefined) {
      // A silently dead lock session would leave two leaders; a round trip proves the lock still stands.
      try {
        await this.#client.query('SELECT 1');
        return true;
      } catch {
        const dead = this.#client;
        this.#lost(dead);
        await dead.end().catch(() => {});
      }
    }
    if (this.#client === undefined) {
      const client = new pg.Client({ connectionString: this.#url });
      client.on('error', () => this.#lost(client));
      client.on('end', () => this.#lost(client));
      await client.connect();
      this.#client = client;
    }
    const res = await this.#client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
      INTEGRATOR_LOCK_KEY,
    ]);
    this.#held = res.rows[0]?.ok === true;
    return this.#held;
  }

  async release(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#held = false;
    if (client !== undefined) await client.end().catch(() => {});
  }

  #lost(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#held = false;
  }
}
