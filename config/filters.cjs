// Read by serverless.yml: the functions' FILTERS environment variable is config/filters.json as
// one line of JSON text (a `${file(...json)}` variable would be an object, which an environment
// variable cannot hold). A file that is not JSON fails the packaging here, naming the file.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

module.exports = () => {
  const file = join(__dirname, 'filters.json');
  try {
    return JSON.stringify(JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    throw new Error(`config/filters.json: ${error.message}`);
  }
};
