// Read by serverless.yml as its `params`: the stage's parameters from config/stages/<stage>.yml,
// with osls's variables in it resolved, and the `--param` options, checked and completed with
// their defaults by infra/stage-parameters.ts. Any problem stops osls (package, deploy, offline)
// before it writes a template, with one message naming the file and every key at fault.
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { require: requireTypeScript } = require('tsx/cjs/api');
const defaultFilters = require('./filters.cjs');
const defaultMapping = require('./mapping.cjs');

module.exports = async ({ options, resolveVariable }) => {
  const stage = String(await resolveVariable('sls:stage'));
  const file = `config/stages/${stage}.yml`;
  const exists = existsSync(join(__dirname, '..', file));
  const content = exists ? await resolveVariable(`file(${file})`) : undefined;
  const { resolveStageParameters } = requireTypeScript('../infra/stage-parameters.ts', __filename);
  const result = resolveStageParameters({
    stage,
    file,
    exists,
    content,
    cliParams: options.param ?? [],
    defaultFilters,
    defaultMapping,
  });
  if (result.ok) return result.parameters;
  // osls prints an error's stack: this one is its message alone.
  const error = new Error(result.message);
  error.stack = result.message;
  throw error;
};
