export {
  createSecretStore,
  createSecretsManagerClient,
  type SecretReadOptions,
  type SecretStore,
  type SecretStoreDeps,
  type Secrets,
} from './secret-store.js';
