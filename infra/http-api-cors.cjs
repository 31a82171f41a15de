// Read by serverless.yml (provider.httpApi.cors): the HTTP API's CORS configuration for the
// stage's corsAllowedOrigins, or false, so a stage without origins has no CorsConfiguration at
// all. The policy and the origins' parser are TypeScript (infra/http-api-cors.ts, lib/config.ts),
// shared with the local run, so tsx (a devDependency, installed wherever the stack is packaged)
// loads them. An invalid origin fails the packaging, naming it.
const { require: requireTypeScript } = require('tsx/cjs/api');

module.exports = async ({ resolveVariable }) => {
  const { httpApiCorsOf } = requireTypeScript('./http-api-cors.ts', __filename);
  return httpApiCorsOf(await resolveVariable('param:corsAllowedOrigins'));
};
