import type { Command } from 'commander';
import { type ApiFlags, call, callJson, clientOptions, print, withApi, writeProfile } from '../client.js';

/** `Type::"id"` or `Type:id` as `{type, id}`. */
function entity(text: string): { type: string; id: string } {
  const m = /^([A-Z][A-Za-z]*)(?:::"(.+)"|:(.+))$/.exec(text);
  if (!m?.[1]) throw new Error(`expected Type::"id" or Type:id, got ${text}`);
  return { type: m[1], id: (m[2] ?? m[3]) as string };
}

/** `warden login`, `whoami`, `mfa`, `principal`, `token`, `binding`, `authorize`, `permissions`. */
export function identityCommands(program: Command): void {
  withApi(
    program
      .command('login')
      .description('sign in with a username and password; saves the session in the profile (WARDEN_PROFILE)')
      .requiredOption('--username <name>', 'username')
      .option('--password <password>', 'password (default: WARDEN_PASSWORD)')
      .option('--totp <code>', 'one-time code, when MFA is enrolled'),
  ).action(async (flags: ApiFlags & { username: string; password?: string; totp?: string }) => {
    const { url } = clientOptions(flags);
    const password = flags.password ?? process.env.WARDEN_PASSWORD;
    if (!password) throw new Error('give --password or set WARDEN_PASSWORD');
    const res = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-warden-client': 'cli' },
      body: JSON.stringify({
        username: flags.username,
        password,
        ...(flags.totp ? { totp: flags.totp } : {}),
      }),
    });
    const body = (await res.json()) as { token?: string; expiresAt?: string; error?: { message: string } };
    if (!res.ok || !body.token) throw new Error(body.error?.message ?? `HTTP ${res.status}`);
    const path = writeProfile({ url, token: body.token });
    process.stdout.write(
      `signed in as ${flags.username} until ${body.expiresAt}; session saved in ${path}\n`,
    );
  });
  withApi(
    program.command('whoami').description('the calling principal, its credential and MFA state'),
  ).action(async (flags: ApiFlags) =>
    print(await callJson(clientOptions(flags), 'GET', '/api/v1/auth/whoami')),
  );

  const mfa = program.command('mfa').description('TOTP enrolment and step-up');
  withApi(
    mfa.command('enroll').description('start TOTP enrolment: prints the secret and otpauth:// URI'),
  ).action(async (flags: ApiFlags) =>
    print(await callJson(clientOptions(flags), 'POST', '/api/v1/auth/mfa/enroll')),
  );
  withApi(mfa.command('confirm <code>').description('confirm enrolment with a first code')).action(
    async (code: string, flags: ApiFlags) => {
      await call(clientOptions(flags), 'POST', '/api/v1/auth/mfa/confirm', { code });
      process.stdout.write('MFA enrolled\n');
    },
  );
  withApi(
    mfa.command('verify <code>').description('step up: make the current session or token MFA-fresh'),
  ).action(async (code: string, flags: ApiFlags) =>
    print(await callJson(clientOptions(flags), 'POST', '/api/v1/auth/mfa/verify', { code })),
  );

  const principal = program.command('principal').description('users, service accounts and groups');
  withApi(
    principal
      .command('create <name>')
      .description('create a principal')
      .option('--type <type>', 'user | service | group', 'user')
      .option('--display-name <text>', 'display name')
      .option('--email <email>', 'email')
      .option('--password <password>', 'initial password (users)')
      .option('--attribute <key=value...>', 'attributes the policies see'),
  ).action(
    async (
      name: string,
      flags: ApiFlags & {
        type: string;
        displayName?: string;
        email?: string;
        password?: string;
        attribute?: string[];
      },
    ) => {
      const attributes = Object.fromEntries(
        (flags.attribute ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      );
      print(
        await callJson(clientOptions(flags), 'POST', '/api/v1/principals', {
          type: flags.type,
          name,
          ...(flags.displayName ? { displayName: flags.displayName } : {}),
          ...(flags.email ? { email: flags.email } : {}),
          ...(flags.password ? { password: flags.password } : {}),
          ...(flags.attribute ? { attributes } : {}),
        }),
      );
    },
  );
  withApi(
    principal
      .command('list')
      .description('list principals')
      .option('--type <type>', 'user | service | group'),
  ).action(async (flags: ApiFlags & { type?: string }) =>
    print(
      await callJson(
        clientOptions(flags),
        'GET',
        `/api/v1/principals${flags.type ? `?type=${flags.type}` : ''}`,
      ),
    ),
  );
  withApi(principal.command('show <id>').description('one principal')).action(
    async (id: string, flags: ApiFlags) =>
      print(await callJson(clientOptions(flags), 'GET', `/api/v1/principals/${encodeURIComponent(id)}`)),
  );
  for (const verb of ['suspend', 'reactivate'] as const) {
    withApi(
      principal
        .command(`${verb} <id>`)
        .description(`${verb} a principal${verb === 'suspend' ? ' (revokes every token and session)' : ''}`)
        .requiredOption('--reason <text>', 'why'),
    ).action(async (id: string, flags: ApiFlags & { reason: string }) =>
      print(
        await callJson(clientOptions(flags), 'POST', `/api/v1/principals/${encodeURIComponent(id)}/${verb}`, {
          reason: flags.reason,
        }),
      ),
    );
  }

  const token = program.command('token').description('API tokens');
  withApi(
    token
      .command('create <principalId>')
      .description('issue a token (printed once)')
      .requiredOption('--description <text>', 'what it is for')
      .option('--scope <action...>', 'actions it may be used for (default: all)')
      .option('--expires-in <seconds>', 'lifetime in seconds'),
  ).action(
    async (
      principalId: string,
      flags: ApiFlags & { description: string; scope?: string[]; expiresIn?: string },
    ) =>
      print(
        await callJson(
          clientOptions(flags),
          'POST',
          `/api/v1/principals/${encodeURIComponent(principalId)}/tokens`,
          {
            description: flags.description,
            scopes: flags.scope ?? ['*'],
            ...(flags.expiresIn ? { expiresInSeconds: Number(flags.expiresIn) } : {}),
          },
        ),
      ),
  );
  withApi(token.command('list <principalId>').description("a principal's tokens")).action(
    async (principalId: string, flags: ApiFlags) =>
      print(
        await callJson(
          clientOptions(flags),
          'GET',
          `/api/v1/principals/${encodeURIComponent(principalId)}/tokens`,
        ),
      ),
  );
  withApi(token.command('revoke <tokenId>').description('revoke a token at once')).action(
    async (tokenId: string, flags: ApiFlags) =>
      print(
        await callJson(clientOptions(flags), 'POST', `/api/v1/tokens/${encodeURIComponent(tokenId)}/revoke`),
      ),
  );

  const binding = program.command('binding').description('role bindings');
  withApi(
    binding
      .command('create')
      .description('bind a principal or group to a role on a resource')
      .requiredOption('--role <role>', 'e.g. data-scientist')
      .requiredOption('--principal <entity>', 'User::"id", ServiceAccount::"id" or Group::"id"')
      .requiredOption('--resource <entity>', 'e.g. Project::"fraud" or Platform::"root"')
      .option('--expires-at <time>', 'RFC 3339 expiry (just-in-time access)')
      .option('--reason <text>', 'why'),
  ).action(
    async (
      flags: ApiFlags & {
        role: string;
        principal: string;
        resource: string;
        expiresAt?: string;
        reason?: string;
      },
    ) =>
      print(
        await callJson(clientOptions(flags), 'POST', '/api/v1/bindings', {
          role: flags.role,
          principal: entity(flags.principal),
          resource: entity(flags.resource),
          ...(flags.expiresAt ? { expiresAt: flags.expiresAt } : {}),
          ...(flags.reason ? { reason: flags.reason } : {}),
        }),
      ),
  );
  withApi(
    binding
      .command('list')
      .description('bindings in force')
      .option('--principal <id>', 'principal id')
      .option('--all', 'include revoked and expired'),
  ).action(async (flags: ApiFlags & { principal?: string; all?: boolean }) => {
    const q = new URLSearchParams({
      ...(flags.principal ? { principal: flags.principal } : {}),
      all: flags.all ? 'true' : 'false',
    });
    print(await callJson(clientOptions(flags), 'GET', `/api/v1/bindings?${q}`));
  });
  withApi(
    binding.command('revoke <id>').description('revoke a binding').option('--reason <text>', 'why'),
  ).action(async (id: string, flags: ApiFlags & { reason?: string }) =>
    print(
      await callJson(
        clientOptions(flags),
        'POST',
        `/api/v1/bindings/${encodeURIComponent(id)}/revoke`,
        flags.reason ? { reason: flags.reason } : {},
      ),
    ),
  );

  withApi(
    program
      .command('authorize <principal> <action> <resource>')
      .description(
        'may PRINCIPAL (User::"id") take ACTION on RESOURCE (Project::"p")? prints the decision and why',
      )
      .option('--mfa', 'as if with a fresh MFA proof')
      .option('--purpose <purpose>', 'purpose of use')
      .option('--explain', 'also list the bindings and policies weighed'),
  ).action(
    async (
      p: string,
      action: string,
      r: string,
      flags: ApiFlags & { mfa?: boolean; purpose?: string; explain?: boolean },
    ) => {
      const body = {
        principal: entity(p),
        action,
        resource: entity(r),
        context: {
          ...(flags.mfa ? { mfa: true } : {}),
          ...(flags.purpose ? { purpose: flags.purpose } : {}),
        },
      };
      const result = await callJson<{ allowed?: boolean; decision?: { allowed: boolean } }>(
        clientOptions(flags),
        'POST',
        flags.explain ? '/api/v1/authorize/explain' : '/api/v1/authorize',
        body,
      );
      print(result);
      if (!(result.allowed ?? result.decision?.allowed)) process.exitCode = 1;
    },
  );
  withApi(
    program
      .command('permissions <principalId> <resource>')
      .description('the actions a principal may take on a resource'),
  ).action(async (principalId: string, resource: string, flags: ApiFlags) =>
    print(
      await callJson(
        clientOptions(flags),
        'GET',
        `/api/v1/principals/${encodeURIComponent(principalId)}/permissions?resource=${encodeURIComponent(resource)}`,
      ),
    ),
  );
}
