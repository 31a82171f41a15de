import { describe, expect, it } from 'vitest';
import { createLimiter } from '../../lib/concurrency.js';

/** A task that runs until `release()`, recording when it started and how many ran at once. */
function gate(log: string[], name: string, running: { now: number; max: number }) {
  let release = () => {};
  const done = new Promise<void>((resolve) => {
    release = resolve;
  });
  const task = async () => {
    log.push(name);
    running.now++;
    running.max = Math.max(running.max, running.now);
    await done;
    running.now--;
  };
  return { task, release };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('createLimiter', () => {
  it('runs at most max tasks at once, holding back callers of start until a slot frees', async () => {
    const log: string[] = [];
    const running = { now: 0, max: 0 };
    const limiter = createLimiter(2);
    const [a, b, c] = ['a', 'b', 'c'].map((name) => gate(log, name, running)) as [
      ReturnType<typeof gate>,
      ReturnType<typeof gate>,
      ReturnType<typeof gate>,
    ];
    await limiter.start(a.task);
    await limiter.start(b.task);
    let thirdStarted = false;
    const third = limiter.start(c.task).then(() => {
      thirdStarted = true;
    });
    await tick();
    expect(thirdStarted).toBe(false);
    expect(log).toEqual(['a', 'b']);
    a.release();
    await third;
    await tick();
    expect(log).toEqual(['a', 'b', 'c']);
    b.release();
    c.release();
    await limiter.idle();
    expect(running).toEqual({ now: 0, max: 2 });
  });

  it('starts queued tasks ahead of waiting callers, and first ones ahead of the rest', async () => {
    const log: string[] = [];
    const running = { now: 0, max: 0 };
    const limiter = createLimiter(1);
    const blocker = gate(log, 'blocker', running);
    await limiter.start(blocker.task);
    const waiting = limiter.start(async () => {
      log.push('waiting');
    });
    limiter.enqueue(async () => {
      log.push('queued');
    });
    limiter.enqueue(
      async () => {
        log.push('first');
      },
      { first: true },
    );
    blocker.release();
    await waiting;
    await limiter.idle();
    expect(log).toEqual(['blocker', 'first', 'queued', 'waiting']);
  });

  it('keeps going when a task rejects or throws, and is idle at once when nothing ran', async () => {
    const limiter = createLimiter(1);
    await limiter.idle();
    limiter.enqueue(async () => {
      throw new Error('rejected');
    });
    limiter.enqueue(() => {
      throw new Error('thrown');
    });
    let ran = false;
    await limiter.start(async () => {
      ran = true;
    });
    await limiter.idle();
    expect(ran).toBe(true);
  });
});
