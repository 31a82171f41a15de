export { createSecretStore, type SecretStore, type SecretStoreDeps, type Secrets } from './secret-store.js';
