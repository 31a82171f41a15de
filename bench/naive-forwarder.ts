/**
 * The naive forwarder the batch measurement is compared with: one POST per event, one at a time
 * (what RudderStack's own Candu destination does), with the global `fetch` and its keep-alive, as
 * such a forwarder is written. No validation, no retries: the cheapest possible version of that
 * design.
 */
export async function forwardOneByOne(
  apiUrl: string,
  apiKey: string,
  events: readonly unknown[],
): Promise<number> {
  let accepted = 0;
  for (const event of events) {
    const response = await fetch(`${apiUrl}/eventWebhook`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(event),
    });
    await response.arrayBuffer();
    if (response.ok) accepted++;
  }
  return accepted;
}
