/**
 * INTERIM until the registry's `provenanceFacts` is merged: the facts the gates read from a stored
 * provenance statement (complete, missing parts, metrics). Replaced by the registry's function.
 */
export function provenanceFacts(json: string): {
  complete: boolean;
  missing: readonly string[];
  metrics: Readonly<Record<string, number>>;
} {
  const s = JSON.parse(json) as Record<string, any>;
  const p = s.predicate ?? {};
  const ext = p.buildDefinition?.externalParameters ?? {};
  const deps: any[] = p.buildDefinition?.resolvedDependencies ?? [];
  const byproducts: any[] = p.runDetails?.byproducts ?? [];
  const metrics = byproducts.find((b) => b?.name === 'metrics')?.annotations ?? {};
  const missing = [
    ext.source?.repository && ext.source?.commit ? '' : 'source',
    ext.parameters ? '' : 'parameters',
    deps.some((d) => String(d?.name).startsWith('dataset:')) ? '' : 'datasets',
    deps.some((d) => d?.name === 'environment') ? '' : 'environment',
    p.runDetails?.builder?.id ? '' : 'builder',
    p.runDetails?.metadata?.startedOn ? '' : 'startedOn',
    p.runDetails?.metadata?.finishedOn ? '' : 'finishedOn',
    Object.keys(metrics).length > 0 ? '' : 'metrics',
  ].filter((m) => m !== '');
  return { complete: missing.length === 0, missing, metrics };
}
