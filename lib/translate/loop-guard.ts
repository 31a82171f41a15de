/**
 * No loop back into Candu: the engagement route (lib/engagement/) forwards Candu's own events to
 * the CDP with `context.candu.origin` set, and a CDP that sends everything on to this stack would
 * otherwise return them to Candu. A message carrying that mark is skipped, whatever its type.
 */

/** The skip reason of a message that came from Candu. */
export const CAME_FROM_CANDU = 'came from Candu';

/**
 * True when `message.context.candu.origin` is set (anything but absent or `null`): the message is
 * one of Candu's own events coming back. Reads only own properties; never throws for an object
 * decoded from JSON.
 */
export function cameFromCandu(message: Readonly<Record<string, unknown>>): boolean {
  const context = ownObject(message, 'context');
  const candu = context === undefined ? undefined : ownObject(context, 'candu');
  if (candu === undefined || !Object.hasOwn(candu, 'origin')) return false;
  return candu.origin !== undefined && candu.origin !== null;
}

function ownObject(
  record: Readonly<Record<string, unknown>>,
  key: string,
): Record<string, unknown> | undefined {
  if (!Object.hasOwn(record, key)) return undefined;
  const value = record[key];
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
