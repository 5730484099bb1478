/** An authenticated caller, as the policy and the ledger see it. */
export interface Principal {
  readonly id: string;
  readonly type: 'user' | 'service';
  readonly name: string;
  readonly isAdmin: boolean;
  /** Actions the credential may be used for; `*` means all the principal may do. */
  readonly scopes: readonly string[];
  readonly tokenId: string;
}
