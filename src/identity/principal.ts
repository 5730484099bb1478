/** How the caller proved who it is. */
export interface CredentialRef {
  readonly kind: 'token' | 'session' | 'oidc';
  readonly id: string;
}

/** An authenticated caller, as the policy and the ledger see it. */
export interface Principal {
  readonly id: string;
  readonly type: 'user' | 'service';
  readonly name: string;
  /** Actions the credential may be used for; `*` means all the principal may do. */
  readonly scopes: readonly string[];
  readonly credential: CredentialRef;
  /** A fresh MFA proof backs this credential (TOTP step-up, or an OIDC `amr` MFA method). */
  readonly mfa: boolean;
  /** Ids of the groups the principal is in (stored memberships and mapped OIDC group claims). */
  readonly groups: readonly string[];
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  /** The authorization epoch read with the credential: decisions cached under another epoch are stale. */
  readonly epoch: number;
}
