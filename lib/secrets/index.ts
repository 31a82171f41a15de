export {
  createSecretStore,
  createSecretsManagerClient,
  SECRET_FETCH_TIMEOUT_MS,
  type SecretReadOptions,
  type SecretStore,
  type SecretStoreDeps,
  type Secrets,
} from './secret-store.js';
