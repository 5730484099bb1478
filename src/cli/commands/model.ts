import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Command } from 'commander';
import { create as createTar } from 'tar';
import { GIT_PATHS, signOms } from '../../registry/oms/index.js';
import { checkFolderEntries, checkManifestPaths } from '../../store/index.js';
import {
  ApiError,
  type ApiFlags,
  apiError,
  type ClientOptions,
  call,
  callJson,
  clientOptions,
  print,
  withApi,
} from '../client.js';

const path = (...parts: string[]) => parts.map(encodeURIComponent).join('/');

interface ManifestFile {
  readonly path: string;
  readonly digest: string;
  readonly size: number;
}

interface VersionView {
  readonly id: string;
  readonly number: number;
  readonly manifestDigest: string;
  readonly files: readonly ManifestFile[];
}

/** `warden model create|list|show|register|pull|sign`; returns the `model` command so others can add to it. */
export function modelCommand(program: Command): Command {
  const model = program.command('model').description('models, immutable versions, signatures and provenance');
  withApi(
    model
      .command('create <name>')
      .description('create a model in a project')
      .requiredOption('--project <id>', 'the project')
      .option('--description <text>', 'what the model is for'),
  ).action(async (name: string, flags: ApiFlags & { project: string; description?: string }) =>
    print(
      await callJson(clientOptions(flags), 'POST', `/api/v1/projects/${path(flags.project, 'models')}`, {
        name,
        ...(flags.description !== undefined ? { description: flags.description } : {}),
      }),
    ),
  );
  withApi(
    model.command('list').description("a project's models").requiredOption('--project <id>', 'the project'),
  ).action(async (flags: ApiFlags & { project: string }) =>
    print(await callJson(clientOptions(flags), 'GET', `/api/v1/projects/${path(flags.project, 'models')}`)),
  );
  withApi(
    model
      .command('show [model-id]')
      .description('a model with its versions and aliases (by id, or by --project and --name)')
      .option('--project <id>', 'the project (with --name)')
      .option('--name <name>', 'the model name (with --project)')
      .option('--version <ref>', 'show this version (number or alias) instead'),
  ).action(
    async (
      id: string | undefined,
      flags: ApiFlags & { project?: string; name?: string; version?: string },
    ) => {
      const client = clientOptions(flags);
      if (flags.version !== undefined) {
        if (!flags.project || !flags.name) throw new Error('--version needs --project and --name');
        print(await versionByRef(client, flags.project, flags.name, flags.version));
        return;
      }
      const modelId = id ?? (await findModel(client, flags.project, flags.name))?.id;
      if (!modelId) throw new Error('name a model: its id, or --project and --name of an existing model');
      print(await callJson(client, 'GET', `/api/v1/models/${path(modelId)}`));
    },
  );
  withApi(
    model
      .command('register <dir>')
      .description(
        'upload a model folder as a new version (streamed as a tar; .git paths at the root and the signature file are left out), then attach a signature and provenance',
      )
      .requiredOption('--project <id>', 'the project')
      .requiredOption('--name <name>', 'the model (created when missing)')
      .option('--signature <model.sig>', 'an OMS bundle to attach')
      .option('--provenance <prov.json>', 'an in-toto SLSA v1 provenance statement to attach'),
  ).action(
    async (
      dir: string,
      flags: ApiFlags & { project: string; name: string; signature?: string; provenance?: string },
    ) => {
      const client = clientOptions(flags);
      const signature = flags.signature === undefined ? undefined : await readJson(flags.signature);
      const provenance = flags.provenance === undefined ? undefined : await readJson(flags.provenance);
      const modelId = await ensureModel(client, flags.project, flags.name);
      const version = (await uploadFolder(client, modelId, dir, flags.signature)) as VersionView;
      if (signature !== undefined)
        await call(client, 'POST', `/api/v1/model-versions/${path(version.id, 'signatures')}`, signature);
      if (provenance !== undefined)
        await call(client, 'PUT', `/api/v1/model-versions/${path(version.id, 'provenance')}`, provenance);
      print(await callJson(client, 'GET', `/api/v1/model-versions/${path(version.id)}`));
    },
  );
  withApi(
    model
      .command('pull <dir>')
      .description(
        "download a version into an empty or new folder, checking each file's size and SHA-256 against the manifest",
      )
      .requiredOption('--project <id>', 'the project')
      .requiredOption('--name <name>', 'the model')
      .requiredOption('--version <ref>', 'version number or alias'),
  ).action(async (dir: string, flags: ApiFlags & { project: string; name: string; version: string }) => {
    const client = clientOptions(flags);
    const version = await versionByRef(client, flags.project, flags.name, flags.version);
    await pullVersion(client, version, dir);
    print({
      version: version.id,
      number: version.number,
      manifestDigest: version.manifestDigest,
      files: version.files.length,
      dir: resolve(dir),
    });
  });
  model
    .command('sign <dir>')
    .description('sign a model folder in the OpenSSF Model Signing format (offline)')
    .requiredOption('--key <key.pem>', 'ECDSA private key (PEM)')
    .option('--cert <chain.pem...>', 'signing certificate first, then its chain (PEM files)')
    .option('--ignore <path...>', 'model-relative paths to leave out')
    .option('--out <model.sig>', 'where to write the bundle', 'model.sig')
    .action(async (dir: string, flags: { key: string; cert?: string[]; ignore?: string[]; out: string }) => {
      const chain = flags.cert
        ? (await Promise.all(flags.cert.map((f) => readFile(f, 'utf8')))).flatMap(pems)
        : [];
      const inside = relative(resolve(dir), resolve(flags.out));
      const ownFile =
        inside !== '' && !inside.startsWith('..') && !inside.startsWith(sep)
          ? [inside.split(sep).join('/')]
          : [];
      const bundle = await signOms({
        modelDir: dir,
        privateKey: await readFile(flags.key, 'utf8'),
        ...(chain.length > 0 ? { certificateChain: chain } : {}),
        ignorePaths: [...(flags.ignore ?? []), ...ownFile],
      });
      await writeFile(flags.out, bundle);
      process.stdout.write(`wrote ${flags.out}\n`);
    });
  return model;
}

/** The PEM blocks in a file. */
function pems(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

async function readJson(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`${file} is not JSON: ${(err as Error).message}`);
  }
}

async function findModel(
  client: ClientOptions,
  project: string | undefined,
  name: string | undefined,
): Promise<{ id: string } | undefined> {
  if (!project || !name) return undefined;
  const { models } = await callJson<{ models: { id: string; name: string }[] }>(
    client,
    'GET',
    `/api/v1/projects/${path(project, 'models')}`,
  );
  return models.find((m) => m.name === name);
}

/** The model's id, creating it when the project has none of that name. */
async function ensureModel(client: ClientOptions, project: string, name: string): Promise<string> {
  const found = await findModel(client, project, name);
  if (found) return found.id;
  try {
    return (
      await callJson<{ id: string }>(client, 'POST', `/api/v1/projects/${path(project, 'models')}`, { name })
    ).id;
  } catch (err) {
    // Created concurrently: use that one.
    const again =
      err instanceof ApiError && err.status === 409 ? await findModel(client, project, name) : undefined;
    if (again) return again.id;
    throw err;
  }
}

function versionByRef(
  client: ClientOptions,
  project: string,
  name: string,
  ref: string,
): Promise<VersionView> {
  return callJson<VersionView>(
    client,
    'GET',
    `/api/v1/projects/${path(project, 'models', name, 'versions', ref)}`,
  );
}

/**
 * Streams the folder's regular files as a portable tar (no owners, no times) straight into the
 * upload request; no file is buffered whole. Leaves out root git paths and the signature file.
 * Resolves to the new version as the server describes it.
 */
export async function uploadFolder(
  client: ClientOptions,
  modelId: string,
  dir: string,
  signatureFile: string | undefined,
): Promise<unknown> {
  const root = resolve(dir);
  const skip = signatureFile === undefined ? undefined : resolve(signatureFile);
  const entries = (await checkFolderEntries(root)).filter(
    (e) => resolve(e.file) !== skip && !GIT_PATHS.includes(e.path.split('/')[0] as string),
  );
  if (entries.length === 0) throw new Error(`${dir} has no files to upload`);
  // Names on disk may differ from manifest paths in Unicode normalisation: the header carries the latter.
  const manifestPath = new Map(entries.map((e) => [relative(root, e.file).split(sep).join('/'), e.path]));
  const tar = createTar(
    {
      cwd: root,
      portable: true,
      noMtime: true,
      noDirRecurse: true,
      onWriteEntry: (entry) => {
        entry.path = manifestPath.get(entry.path) ?? entry.path;
      },
    },
    [...manifestPath.keys()],
  );
  return postStream(client, `/api/v1/models/${path(modelId, 'versions')}`, tar as unknown as Readable);
}

/** POSTs a stream as application/x-tar; a refusal the server sends before the upload ends still wins. */
function postStream(client: ClientOptions, route: string, body: Readable): Promise<unknown> {
  if (!client.token) {
    throw new ApiError(0, 'WARDEN_NO_TOKEN', 'no token: run warden login, set WARDEN_TOKEN, or pass --token');
  }
  const url = new URL(client.url + route);
  const request = url.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolvePost, reject) => {
    let answered = false;
    const req = request(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${client.token}`,
        'content-type': 'application/x-tar',
        'x-warden-client': 'cli',
      },
    });
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        body.unpipe(req);
        if ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300) resolvePost(JSON.parse(text));
        else reject(apiError(res.statusCode ?? 0, text));
      });
    });
    req.on('error', (err) => {
      // A server that refuses an upload answers, then closes: the answer explains it.
      if (!answered)
        reject(new ApiError(0, 'WARDEN_UNREACHABLE', `cannot upload to ${client.url}: ${err.message}`));
    });
    body.on('error', (err) => {
      req.destroy(err);
      reject(err);
    });
    body.pipe(req);
  });
}

/** Downloads every file of `version` into `dir` (new or empty), verifying each against the manifest. */
async function pullVersion(client: ClientOptions, version: VersionView, dir: string): Promise<void> {
  const target = resolve(dir);
  const existing = await readdir(target).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (existing !== undefined && existing.length > 0)
    throw new Error(`${dir} is not empty; pull into a new folder`);
  // The server's paths are checked as an upload's are: nothing may land outside the folder.
  const paths = checkManifestPaths(version.files.map((f) => f.path));
  await mkdir(target, { recursive: true });
  try {
    for (const [i, file] of version.files.entries()) {
      await pullFile(client, version.id, file, join(target, ...(paths[i] as string).split('/')));
    }
  } catch (err) {
    await rm(target, { recursive: true, force: true });
    throw err;
  }
}

async function pullFile(
  client: ClientOptions,
  versionId: string,
  file: ManifestFile,
  dest: string,
): Promise<void> {
  const res = await call(
    client,
    'GET',
    `/api/v1/model-versions/${path(versionId)}/files/${path(...file.path.split('/'))}`,
  );
  if (!res.body) throw new Error(`no body for ${file.path}`);
  await mkdir(dirname(dest), { recursive: true });
  const temp = `${dest}.${randomBytes(6).toString('hex')}.part`;
  const hash = createHash('sha256');
  let size = 0;
  try {
    await pipeline(
      Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
      async function* (chunks: AsyncIterable<Uint8Array>) {
        for await (const chunk of chunks) {
          size += chunk.byteLength;
          if (size > file.size)
            throw new Error(`${file.path}: the server sent more than the manifest's ${file.size} bytes`);
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(temp, { flags: 'wx', mode: 0o644 }),
    );
    const digest = `sha256:${hash.digest('hex')}`;
    if (size !== file.size || digest !== file.digest) {
      throw new Error(
        `${file.path} does not match the manifest: got ${size} bytes ${digest}, expected ${file.size} bytes ${file.digest}`,
      );
    }
    await rename(temp, dest);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
