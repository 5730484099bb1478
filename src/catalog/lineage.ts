import type { Kysely } from 'kysely';
import { WardenError } from '../core/index.js';
import type { EntityRef } from '../policy/index.js';
import type { Database, Store } from '../store/index.js';
import type { LineageKind } from './lineage-edges.js';

/** One node of a lineage graph, described. */
export interface LineageNode {
  readonly kind: LineageKind;
  readonly id: string;
  /** Dataset name, `model vN`, or `endpoint ← model vN`. */
  readonly label: string;
  readonly project: string;
}

/** The graph reachable from a node in one direction. */
export interface LineageGraph {
  readonly root: { readonly kind: LineageKind; readonly id: string };
  readonly direction: 'up' | 'down';
  readonly nodes: readonly LineageNode[];
  readonly edges: readonly {
    readonly from: { readonly kind: LineageKind; readonly id: string };
    readonly to: { readonly kind: LineageKind; readonly id: string };
    readonly relation: string;
  }[];
  /** The walk stopped at the depth or size bound before reaching everything. */
  readonly truncated: boolean;
}

/** Bounds of one walk. */
export const LINEAGE_LIMITS = { maxDepth: 50, maxNodes: 1000 } as const;

type Key = `${LineageKind}:${string}`;
const keyOf = (kind: string, id: string) => `${kind}:${id}` as Key;

/**
 * Walks lineage edges from a node, upstream (what it came from) or downstream (what was made
 * from it), breadth first, cycle-safe and bounded. Nodes `visible` refuses are left out and not
 * walked through, so a graph never shows what the caller may not read.
 */
export class Lineage {
  readonly #store: Store;

  constructor(deps: { store: Store }) {
    this.#store = deps.store;
  }

  /** The entity a node is authorized on: the dataset, the model version, or a deployment's endpoint. */
  async resourceOf(kind: LineageKind, id: string): Promise<EntityRef> {
    if (kind === 'dataset') return { type: 'Dataset', id };
    if (kind === 'model_version') return { type: 'ModelVersion', id };
    const row = await this.#store.db
      .selectFrom('deployments')
      .select('endpoint_id')
      .where('id', '=', id)
      .executeTakeFirst();
    // An unknown deployment is decided on an endpoint that does not exist: 403 without rights, else 404.
    return { type: 'Endpoint', id: row?.endpoint_id ?? `deployment:${id}` };
  }

  async walk(
    root: { kind: LineageKind; id: string },
    direction: 'up' | 'down',
    opts: { depth: number; visible: (kind: LineageKind, id: string) => Promise<boolean> },
  ): Promise<LineageGraph> {
    const db = this.#store.db;
    const first = await describe(db, root.kind, [root.id]);
    const start = first.get(keyOf(root.kind, root.id));
    if (!start) throw new WardenError('WARDEN_NOT_FOUND', `${root.kind} ${root.id} not found`);
    const nodes = new Map<Key, LineageNode>([[keyOf(root.kind, root.id), start]]);
    const edges: LineageGraph['edges'][number][] = [];
    const refused = new Set<Key>();
    let frontier: { kind: LineageKind; id: string }[] = [root];
    let truncated = false;
    const depth = Math.min(opts.depth, LINEAGE_LIMITS.maxDepth);
    for (let level = 0; frontier.length > 0; level++) {
      const found = await neighbours(db, frontier, direction);
      if (level >= depth) {
        truncated = found.some((e) => !nodes.has(keyOf(e.kind, e.id)));
        break;
      }
      const fresh = new Map<Key, { kind: LineageKind; id: string }>();
      for (const e of found) {
        const k = keyOf(e.kind, e.id);
        if (!nodes.has(k) && !refused.has(k)) fresh.set(k, { kind: e.kind, id: e.id });
      }
      const described = new Map<Key, LineageNode>();
      for (const kind of ['dataset', 'model_version', 'deployment'] as const) {
        const ids = [...fresh.values()].filter((n) => n.kind === kind).map((n) => n.id);
        for (const [k, n] of await describe(db, kind, ids)) described.set(k, n);
      }
      const next: { kind: LineageKind; id: string }[] = [];
      for (const [k, n] of described) {
        if (nodes.size >= LINEAGE_LIMITS.maxNodes) {
          truncated = true;
          break;
        }
        if (!(await opts.visible(n.kind, n.id))) {
          refused.add(k);
          continue;
        }
        nodes.set(k, n);
        next.push({ kind: n.kind, id: n.id });
      }
      for (const e of found) {
        if (!nodes.has(keyOf(e.kind, e.id))) continue;
        const from = direction === 'down' ? e.via : { kind: e.kind, id: e.id };
        const to = direction === 'down' ? { kind: e.kind, id: e.id } : e.via;
        if (!edges.some((x) => sameEdge(x, from, to))) edges.push({ from, to, relation: e.relation });
      }
      frontier = truncated ? [] : next;
    }
    return { root, direction, nodes: [...nodes.values()], edges, truncated };
  }
}

function sameEdge(
  e: { from: { kind: string; id: string }; to: { kind: string; id: string } },
  from: { kind: string; id: string },
  to: { kind: string; id: string },
): boolean {
  return e.from.kind === from.kind && e.from.id === from.id && e.to.kind === to.kind && e.to.id === to.id;
}

/** The nodes one step away from `frontier`, each with the frontier node it was reached from. */
async function neighbours(
  db: Kysely<Database>,
  frontier: readonly { kind: LineageKind; id: string }[],
  direction: 'up' | 'down',
): Promise<{ kind: LineageKind; id: string; via: { kind: LineageKind; id: string }; relation: string }[]> {
  const out: { kind: LineageKind; id: string; via: { kind: LineageKind; id: string }; relation: string }[] =
    [];
  for (const kind of ['dataset', 'model_version', 'deployment'] as const) {
    const ids = frontier.filter((n) => n.kind === kind).map((n) => n.id);
    if (ids.length === 0) continue;
    const rows =
      direction === 'down'
        ? await db
            .selectFrom('lineage_edges')
            .select([
              'from_kind as hereKind',
              'from_id as hereId',
              'to_kind as kind',
              'to_id as id',
              'relation',
            ])
            .where('from_kind', '=', kind)
            .where('from_id', 'in', ids)
            .execute()
        : await db
            .selectFrom('lineage_edges')
            .select([
              'to_kind as hereKind',
              'to_id as hereId',
              'from_kind as kind',
              'from_id as id',
              'relation',
            ])
            .where('to_kind', '=', kind)
            .where('to_id', 'in', ids)
            .execute();
    for (const r of rows) {
      if (!isKind(r.kind)) continue;
      out.push({ kind: r.kind, id: r.id, via: { kind, id: r.hereId }, relation: r.relation });
    }
  }
  return out.sort((a, b) => (a.kind + a.id < b.kind + b.id ? -1 : a.kind + a.id > b.kind + b.id ? 1 : 0));
}

function isKind(k: string): k is LineageKind {
  return k === 'dataset' || k === 'model_version' || k === 'deployment';
}

/** Labels and projects of existing nodes of one kind (unknown ids are absent). */
async function describe(
  db: Kysely<Database>,
  kind: LineageKind,
  ids: readonly string[],
): Promise<Map<Key, LineageNode>> {
  const out = new Map<Key, LineageNode>();
  if (ids.length === 0) return out;
  if (kind === 'dataset') {
    const rows = await db
      .selectFrom('datasets')
      .select(['id', 'name', 'project_id'])
      .where('id', 'in', ids)
      .execute();
    for (const r of rows)
      out.set(keyOf(kind, r.id), { kind, id: r.id, label: r.name, project: r.project_id });
  } else if (kind === 'model_version') {
    const rows = await db
      .selectFrom('model_versions as v')
      .innerJoin('models as m', 'm.id', 'v.model_id')
      .select(['v.id', 'v.number', 'v.project_id', 'm.name'])
      .where('v.id', 'in', ids)
      .execute();
    for (const r of rows)
      out.set(keyOf(kind, r.id), { kind, id: r.id, label: `${r.name} v${r.number}`, project: r.project_id });
  } else {
    const rows = await db
      .selectFrom('deployments as d')
      .innerJoin('endpoints as e', 'e.id', 'd.endpoint_id')
      .innerJoin('model_versions as v', 'v.id', 'd.version_id')
      .innerJoin('models as m', 'm.id', 'v.model_id')
      .select(['d.id', 'e.name as endpoint', 'e.project_id', 'm.name as model', 'v.number'])
      .where('d.id', 'in', ids)
      .execute();
    for (const r of rows)
      out.set(keyOf(kind, r.id), {
        kind,
        id: r.id,
        label: `${r.endpoint} ← ${r.model} v${r.number}`,
        project: r.project_id,
      });
  }
  return out;
}
