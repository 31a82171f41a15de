// Runs in the page before an SDK loads: records every request the SDK makes and what its own
// code saw of the answer (a status, or the network error a browser reports when CORS hides the
// answer), so the test can tell whether the SDK has any reason left to retry.
const sent = [];
window.__sent = sent;

const originalFetch = window.fetch.bind(window);
window.fetch = (input, init) => {
  const entry = {
    api: 'fetch',
    url: String(input instanceof Request ? input.url : input),
    status: undefined,
  };
  sent.push(entry);
  return originalFetch(input, init).then(
    (response) => {
      entry.status = response.status;
      return response;
    },
    (error) => {
      entry.status = 0;
      entry.error = String(error);
      throw error;
    },
  );
};

const originalOpen = XMLHttpRequest.prototype.open;
XMLHttpRequest.prototype.open = function open(method, url, ...rest) {
  const entry = { api: 'xhr', url: String(url), status: undefined };
  sent.push(entry);
  // status 0 after loadend: the browser withheld the answer (CORS) or the connection failed.
  this.addEventListener('loadend', () => {
    entry.status = this.status;
  });
  return originalOpen.call(this, method, url, ...rest);
};
