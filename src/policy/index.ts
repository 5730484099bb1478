export { authorize, type Decision, type ResourceRef } from './authorize.js';
