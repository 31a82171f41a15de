// The functions' FILTERS and MAPPING environment variables are config/filters.json and
// config/mapping.json as one line of JSON text each (a `${file(...json)}` variable would be an
// object, which an environment variable cannot hold). A file that is not JSON fails the
// packaging here, naming the file.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

/** A function giving config/<name> as one line of JSON, for serverless.yml's variables. */
module.exports = (name) => () => {
  const file = join(__dirname, name);
  try {
    return JSON.stringify(JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    throw new Error(`config/${name}: ${error.message}`);
  }
};
