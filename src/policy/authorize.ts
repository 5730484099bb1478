import type { Principal } from '../identity/index.js';

/** The answer to "may this principal do this": which policies decided, and why in words. */
export interface Decision {
  readonly allowed: boolean;
  readonly policies: readonly string[];
  readonly reason: string;
}

/** What an action touches. */
export interface ResourceRef {
  readonly type: string;
  readonly id: string;
}

/**
 * The one authorization function every API action goes through. Until the Cedar policy engine
 * lands, the rules are: the bootstrap admin may do anything its token's scopes allow; nobody else may.
 */
export function authorize(principal: Principal, action: string, _resource: ResourceRef): Decision {
  if (!principal.scopes.includes('*') && !principal.scopes.includes(action)) {
    return freeze(false, ['token-scope'], `the token's scopes do not include ${action}`);
  }
  if (principal.isAdmin) return freeze(true, ['builtin-admin'], 'the principal is a platform admin');
  return freeze(false, [], `no policy permits ${action} for ${principal.type} ${principal.id}`);
}

function freeze(allowed: boolean, policies: string[], reason: string): Decision {
  return Object.freeze({ allowed, policies: Object.freeze(policies), reason });
}
