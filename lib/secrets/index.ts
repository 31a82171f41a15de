export { equalSecrets, matchesAny } from './compare-secrets.js';
export {
  createSecretStore,
  createSecretsManagerClient,
  type SecretReadOptions,
  type SecretStore,
  type SecretStoreDeps,
  type Secrets,
} from './secret-store.js';
