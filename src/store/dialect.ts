/** The two database backends Warden runs on. */
export type Dialect = 'sqlite' | 'postgres';
