export {
  type AuthFailure,
  type AuthResult,
  authenticateBearer,
  type FederatedIdentity,
  type FederatedResolver,
  type JwtVerifier,
} from './authenticate.js';
export { type BootstrapResult, bootstrap } from './bootstrap.js';
export {
  Credentials,
  MFA_FRESH_MS,
  SESSION_PREFIX,
  type SessionPolicy,
  type TokenView,
} from './credentials.js';
export {
  cedarTypeOf,
  Directory,
  type NewPrincipal,
  type PrincipalKind,
  type PrincipalPatch,
  type PrincipalStatus,
  type PrincipalView,
} from './directory.js';
export { Federation, type IssuerConfig, parseIssuers } from './federation.js';
export { LocalLogin } from './login.js';
export { OidcError, type OidcIdentity } from './oidc.js';
export { checkPasswordPolicy, hashPassword, verifyPassword } from './password.js';
export type { CredentialRef, Principal } from './principal.js';
export {
  SCIM_DEFAULT_COUNT,
  SCIM_MAX_COUNT,
  SCIM_MEDIA_TYPE,
  scimError,
  scimList,
  scimResourceTypes,
  scimSchemas,
  scimServiceProviderConfig,
} from './scim.js';
export { type ScimCall, type ScimKind, ScimService } from './scim-service.js';
export { SecretBox } from './secret-box.js';
export { Throttle, type ThrottleRule } from './throttle.js';
export { TokenCache } from './token-cache.js';
export { generateToken, TOKEN_PREFIX, tokenDigest } from './tokens.js';
