/**
 * The environment the AWS SDK needs to talk to the local Secrets Manager fake: fake
 * credentials (the SDK signs every request), a region, no instance metadata look-ups, and the
 * endpoint override a deployed function would honour the same way.
 */
export function fakeAwsEnvironment(secretsManagerEndpoint: string): Record<string, string> {
  return {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE',
    AWS_SECRET_ACCESS_KEY: 'fake-secret-access-key',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManagerEndpoint,
  };
}

/**
 * Sets `fakeAwsEnvironment` in this process (and removes `AWS_PROFILE`, so a developer's own
 * profile is never read); returns a function that restores what was there.
 */
export function useFakeAwsEnvironment(secretsManagerEndpoint: string): () => void {
  const saved: Record<string, string | undefined> = { AWS_PROFILE: process.env.AWS_PROFILE };
  delete process.env.AWS_PROFILE;
  for (const [name, value] of Object.entries(fakeAwsEnvironment(secretsManagerEndpoint))) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
  return () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
