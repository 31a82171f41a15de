/** The machine a run was measured on: Node version, CPU model and core count, and the load when it started. */
import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';

export interface Machine {
  node: string;
  cpu: string;
  cores: number;
  loadAverage: string;
}

export async function machine(): Promise<Machine> {
  let cpu = 'unknown';
  try {
    const info = await readFile('/proc/cpuinfo', 'utf8');
    cpu = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? cpu;
  } catch {
    // Not Linux: the CPU model stays unknown.
  }
  return {
    node: process.version,
    cpu,
    cores: availableParallelism(),
    loadAverage: loadavg()
      .map((load) => load.toFixed(2))
      .join(' / '),
  };
}
