export { type AuthFailure, authenticateBearer } from './authenticate.js';
export { type BootstrapResult, bootstrap } from './bootstrap.js';
export type { Principal } from './principal.js';
export { generateToken, TOKEN_PREFIX, tokenDigest } from './tokens.js';
