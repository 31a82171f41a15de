/**
 * Bounded concurrency, written once: delivery's chunks, the queue writer's batches and replay's
 * chunks all run through a `Limiter`.
 */

/** At most `max` tasks running at once. */
export interface Limiter {
  /**
   * Waits until a slot is free, then starts `task` and returns without waiting for it: the
   * caller (a reader producing tasks) is held back while `max` tasks run. A task's rejection is
   * the task's to handle; `start` ignores it.
   */
  start(task: () => Promise<unknown>): Promise<void>;
  /**
   * Queues `task` to start as soon as a slot is free, ahead of callers waiting in `start`, and
   * returns at once: a reader that must not be held back, or a running task handing on
   * follow-up work (the halves of a split chunk) without waiting for a slot it may itself be
   * holding. With `first`, ahead of the tasks already queued.
   */
  enqueue(task: () => Promise<unknown>, options?: { first?: boolean }): void;
  /** Resolves once no task is running or queued. */
  idle(): Promise<void>;
}

/** A limiter of `max` (at least 1) slots. */
export function createLimiter(max: number): Limiter {
  const slots = Math.max(1, Math.floor(max));
  let running = 0;
  const queued: (() => Promise<unknown>)[] = [];
  const waitingToStart: (() => void)[] = [];
  let idleWaiters: (() => void)[] = [];

  const next = () => {
    while (running < slots) {
      const task = queued.shift();
      if (task !== undefined) {
        run(task);
        continue;
      }
      const wake = waitingToStart.shift();
      if (wake === undefined) break;
      // The woken caller starts its task at once, in the slot kept for it.
      running++;
      wake();
    }
    if (running === 0 && queued.length === 0 && waitingToStart.length === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  };
  const settle = () => {
    running--;
    next();
  };
  const run = (task: () => Promise<unknown>, slotTaken = false) => {
    if (!slotTaken) running++;
    // A task that throws synchronously is settled like one that rejects.
    Promise.resolve().then(task).then(settle, settle);
  };

  return {
    async start(task) {
      if (running < slots && queued.length === 0 && waitingToStart.length === 0) {
        run(task);
        return;
      }
      await new Promise<void>((resolve) => waitingToStart.push(resolve));
      run(task, true);
    },
    enqueue(task, options = {}) {
      if (options.first === true) queued.unshift(task);
      else queued.push(task);
      next();
    },
    idle() {
      if (running === 0 && queued.length === 0 && waitingToStart.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}
