import { execFileSync } from 'node:child_process';

/** The general-purpose compressors the char LMs are compared with, run as the real binaries. */
export const COMPRESSORS = {
  'gzip -9': { command: 'gzip', args: ['-9', '-c', '-n'] },
  'xz -9': { command: 'xz', args: ['-9', '-c', '--format=xz'] },
} as const;

export type CompressorName = keyof typeof COMPRESSORS;

/** Size in bytes of `input` compressed by the named compressor's binary (`/usr/bin/gzip`, `/usr/bin/xz`). */
export function compressedSize(name: CompressorName, input: Buffer): number {
  const { command, args } = COMPRESSORS[name];
  try {
    return execFileSync(command, args, { input, maxBuffer: 1 << 30 }).length;
  } catch (error) {
    throw new Error(
      `running "${command} ${args.join(' ')}" failed: ${(error as Error).message}. ` +
        `The baseline needs the ${command} binary on PATH (Debian packages gzip, xz-utils).`,
    );
  }
}

/** Counts characters (code points), the unit the char LM predicts. */
export function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

export interface CompressionBitsPerChar {
  compressor: CompressorName;
  /** The held-out text compressed on its own. */
  alone: number;
  /**
   * Bits for the held-out text given the training text: size(train ‖ held-out) − size(train),
   * the compressor's counterpart of a model that has read the training split.
   */
  afterTraining: number;
}

/** Bits per character of `heldOut` (UTF-8 bytes compressed, divided by its characters). */
export function compressionBitsPerChar(
  name: CompressorName,
  heldOut: string,
  training: string,
): CompressionBitsPerChar {
  const characters = characterCount(heldOut);
  const heldOutBytes = Buffer.from(heldOut, 'utf8');
  const trainingBytes = Buffer.from(training, 'utf8');
  const alone = compressedSize(name, heldOutBytes);
  const both = compressedSize(name, Buffer.concat([trainingBytes, heldOutBytes]));
  const trainingOnly = compressedSize(name, trainingBytes);
  return {
    compressor: name,
    alone: (8 * alone) / characters,
    afterTraining: (8 * (both - trainingOnly)) / characters,
  };
}
