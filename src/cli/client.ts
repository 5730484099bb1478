import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';

/** Where the CLI finds the server and its credential. */
export interface ClientOptions {
  readonly url: string;
  readonly token: string | undefined;
}

/** Where `warden login` keeps the server URL and session token (mode 0600). */
export function profilePath(): string {
  return process.env.WARDEN_PROFILE ?? join(homedir(), '.config', 'warden', 'profile.json');
}

/** The saved profile, if any. */
export function readProfile(): { url?: string; token?: string } {
  try {
    return JSON.parse(readFileSync(profilePath(), 'utf8')) as { url?: string; token?: string };
  } catch {
    return {};
  }
}

/** Saves the profile with mode 0600. */
export function writeProfile(profile: { url: string; token: string }): string {
  const path = profilePath();
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(profile, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

/** Reads --url/--token, then WARDEN_URL/WARDEN_TOKEN, then the profile written by `warden login`. */
export function clientOptions(opts: { url?: string; token?: string }): ClientOptions {
  const profile = readProfile();
  return {
    url: (opts.url ?? process.env.WARDEN_URL ?? profile.url ?? 'http://127.0.0.1:8080').replace(/\/+$/, ''),
    token: opts.token ?? process.env.WARDEN_TOKEN ?? profile.token,
  };
}

/** A failed API call, carrying the server's error code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Calls the API; returns the raw response when ok, throws ApiError with the server's explanation otherwise. */
export async function call(
  client: ClientOptions,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
  headers: Readonly<Record<string, string>> = {},
): Promise<Response> {
  if (client.token === undefined || client.token === '') {
    throw new ApiError(0, 'WARDEN_NO_TOKEN', 'no token: run warden login, set WARDEN_TOKEN, or pass --token');
  }
  let res: Response;
  try {
    res = await fetch(client.url + path, {
      method,
      headers: {
        authorization: `Bearer ${client.token}`,
        'x-warden-client': 'cli',
        ...(body !== undefined ? { 'content-type': contentType } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
  } catch (err) {
    throw new ApiError(
      0,
      'WARDEN_UNREACHABLE',
      `cannot reach ${client.url}: ${(err as Error).cause ?? (err as Error).message}`,
    );
  }
  if (res.ok) return res;
  throw apiError(res.status, await res.text());
}

/** The ApiError for a failed answer: the server's code, message and field issues when it sent them. */
export function apiError(status: number, text: string): ApiError {
  try {
    const { error } = JSON.parse(text) as {
      error: { code: string; message: string; issues?: { field: string; message: string }[] };
    };
    const issues = (error.issues ?? []).map((i) => `\n  ${i.field}: ${i.message}`).join('');
    return new ApiError(status, error.code, `${error.message}${issues}`);
  } catch {
    return new ApiError(status, 'WARDEN_HTTP', `HTTP ${status}: ${text.slice(0, 200)}`);
  }
}

/** Calls the API and parses its JSON answer. */
export async function callJson<T>(
  client: ClientOptions,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  return (await (await call(client, method, path, body)).json()) as T;
}

/** Flags of every command that talks to a server. */
export interface ApiFlags {
  url?: string;
  token?: string;
}

/** Adds --url and --token to a command. */
export function withApi(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'server URL (WARDEN_URL)')
    .option('--token <token>', 'API token (WARDEN_TOKEN)');
}

/** Prints an API answer as indented JSON. */
export function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
