/** Which verification step rejected a bundle. */
export type OmsCheck = 'bundle' | 'signature' | 'trust' | 'statement' | 'files';

/** Thrown inside the verifier to stop at the first failed check; verifyOmsBundle turns it into a result. */
export class OmsCheckFailure extends Error {
  readonly check: OmsCheck;

  constructor(check: OmsCheck, reason: string) {
    super(reason);
    this.name = 'OmsCheckFailure';
    this.check = check;
  }
}

/** A short list of names for a failure message: the first few, then a count of the rest. */
export function nameList(names: readonly string[], max = 5): string {
  const shown = names.slice(0, max).map((n) => JSON.stringify(n));
  const more = names.length > max ? ` and ${names.length - max} more` : '';
  return `${shown.join(', ')}${more}`;
}
