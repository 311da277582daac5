import { cpus, totalmem } from 'node:os';

/** One line describing the machine a number was measured on. */
export function machineDescription(): string {
  const processors = cpus();
  const model = processors[0]?.model.trim() ?? 'unknown CPU';
  return `${model}, ${processors.length} cores visible, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}-${process.arch}`;
}
