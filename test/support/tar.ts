import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestServer } from './runtime.js';

/** One ustar header block, written by hand so tests can say anything a hostile archive could. */
export function tarHeader(
  name: string,
  opts: { type?: string; size?: number; linkname?: string } = {},
): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100, 'utf8');
  b.write('0000644\0', 100);
  b.write('0000000\0', 108);
  b.write('0000000\0', 116);
  b.write(`${(opts.size ?? 0).toString(8).padStart(11, '0')}\0`, 124);
  b.write('00000000000\0', 136);
  b.write(' '.repeat(8), 148);
  b.write(opts.type ?? '0', 156);
  b.write(opts.linkname ?? '', 157, 100, 'utf8');
  b.write('ustar\0', 257);
  b.write('00', 263);
  const sum = b.reduce((a, x) => a + x, 0);
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return b;
}

/** A member: header, body, padding to the next block (any type may carry a body, e.g. pax `x`). */
export function tarMember(name: string, body: string | Buffer = '', type = '0', linkname?: string): Buffer {
  const data = Buffer.from(body);
  return Buffer.concat([
    tarHeader(name, { type, size: data.length, ...(linkname ? { linkname } : {}) }),
    data,
    Buffer.alloc((512 - (data.length % 512)) % 512),
  ]);
}

/** A whole archive of members, with the two zero blocks that end it. */
export function tarOf(...members: Buffer[]): Buffer {
  return Buffer.concat([...members, Buffer.alloc(1024)]);
}

/** An archive of regular files, path → contents. */
export function tarFiles(files: Readonly<Record<string, string | Buffer>>): Buffer {
  return tarOf(...Object.entries(files).map(([path, body]) => tarMember(path, body)));
}

/** Every blob a server's store holds (digests), and whether its temp directory is empty. */
export async function storedBlobs(s: TestServer): Promise<{ blobs: string[]; temp: string[] }> {
  const root = s.rt.config.blobDir;
  const list = async (dir: string) =>
    (await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []))
      .filter((e) => e.isFile())
      .map((e) => e.name);
  return {
    blobs: (await list(join(root, 'sha256'))).map((hex) => `sha256:${hex}`).sort(),
    temp: await list(join(root, 'tmp')),
  };
}

/** Posts an archive as a new version of `model`. */
export function uploadVersion(
  s: TestServer,
  model: string,
  archive: Buffer,
  opts: { type?: string; token?: string } = {},
) {
  return s.rt.app.inject({
    method: 'POST',
    url: `/api/v1/models/${model}/versions`,
    headers: {
      authorization: `Bearer ${opts.token ?? s.token}`,
      'content-type': opts.type ?? 'application/x-tar',
    },
    payload: archive,
  });
}
