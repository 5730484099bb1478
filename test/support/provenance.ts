/** A complete SLSA v1 provenance statement for a version with `manifestDigest`, naming datasets by id and digest. */
export function provenanceStatement(opts: {
  manifestDigest: string;
  datasets?: readonly { name: string; id: string; digest: string }[];
  trainer?: string;
  metrics?: Record<string, number>;
}) {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'model', digest: { sha256: opts.manifestDigest.replace(/^sha256:/, '') } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://warden.example/training/v1',
        externalParameters: {
          source: { repository: 'https://git.example/fraud/scorer', commit: 'a'.repeat(40) },
          parameters: { epochs: 12, learningRate: 0.001 },
          ...(opts.trainer ? { trainer: opts.trainer } : {}),
        },
        resolvedDependencies: [
          ...(opts.datasets ?? []).map((d) => ({
            name: `dataset:${d.name}`,
            uri: `warden:dataset:${d.id}`,
            digest: { sha256: d.digest.replace(/^sha256:/, '') },
          })),
          {
            name: 'environment',
            uri: 'oci://registry.example/train@sha256:beef',
            digest: { sha256: 'b'.repeat(64) },
          },
        ],
      },
      runDetails: {
        builder: { id: 'https://ci.example/runners/gpu-1' },
        metadata: { startedOn: '2025-03-01T10:00:00Z', finishedOn: '2025-03-01T12:30:00Z' },
        byproducts: [{ name: 'metrics', annotations: opts.metrics ?? { auc: 0.93, precision: 0.88 } }],
      },
    },
  };
}
