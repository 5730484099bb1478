import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';

/** Kinds of lineage node. */
export type LineageKind = 'dataset' | 'model_version' | 'deployment';

/** A directed edge: `from` was used to make `to` (dataset → derived dataset → model version → deployment). */
export interface LineageEdge {
  readonly from: { readonly kind: LineageKind; readonly id: string };
  readonly to: { readonly kind: LineageKind; readonly id: string };
  /** e.g. `derived_from`, `trained_on`, `deployed_as`. */
  readonly relation: string;
}

/** Adds edges inside the caller's transaction; an edge already present is kept as it is. */
export async function addLineageEdges(
  trx: Kysely<Database>,
  edges: readonly LineageEdge[],
  now: number,
): Promise<void> {
  if (edges.length === 0) return;
  await trx
    .insertInto('lineage_edges')
    .values(
      edges.map((e) => ({
        from_kind: e.from.kind,
        from_id: e.from.id,
        to_kind: e.to.kind,
        to_id: e.to.id,
        relation: e.relation,
        created_ms: now,
      })),
    )
    .onConflict((oc) => oc.columns(['from_kind', 'from_id', 'to_kind', 'to_id']).doNothing())
    .execute();
}
