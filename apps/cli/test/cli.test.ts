import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/** The built command (`pnpm --filter @elementwise/cli test` builds it first). */
const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');

function run(...args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The command exits with status 1 and its error output holds every one of `messages`. */
function expectRejected(args: string[], ...messages: Array<string | RegExp>) {
  const { status, stderr } = run(...args);
  expect(status, `elementwise ${args.join(' ')}`).toBe(1);
  for (const message of messages) {
    if (typeof message === 'string') expect(stderr).toContain(message);
    else expect(stderr).toMatch(message);
  }
}

describe('elementwise command line', () => {
  it('is built', () => {
    expect(existsSync(BIN), `${BIN} is missing: run "pnpm --filter @elementwise/cli build"`).toBe(
      true,
    );
  });

  describe('rejects bad flags with an error naming the flag and the accepted values', () => {
    it('unknown task', () => {
      expectRejected(
        ['train', '--task', 'imagenet', '--out', 'x'],
        "option '--task <name>' argument 'imagenet' is invalid",
        'moby-dick, digits, seattle-rain, co2',
      );
    });

    it('unknown attention and odd EA order', () => {
      expectRejected(
        ['train', '--task', 'digits', '--attention', 'linear', '--out', 'x'],
        "option '--attention <name>' argument 'linear' is invalid",
        'softmax, ea-<even order> (ea-2, ea-6, ...), ea-exact',
      );
      expectRejected(
        ['train', '--task', 'digits', '--attention', 'ea-3', '--out', 'x'],
        "'--attention <name>' argument 'ea-3' is invalid",
        'EA order must be even',
      );
    });

    it('non-numeric and out-of-range numbers', () => {
      expectRejected(
        ['train', '--task', 'digits', '--steps', 'ten', '--out', 'x'],
        "option '--steps <n>' argument 'ten' is invalid. Expected an integer",
      );
      expectRejected(
        ['train', '--task', 'digits', '--lr', '-1', '--out', 'x'],
        "option '--lr <rate>' argument '-1' is invalid. Expected a number > 0",
      );
      expectRejected(
        ['generate', '--pretrained', 'char-lm-moby-dick-ea6', '--max-tokens', '2.5'],
        "'--max-tokens <n>' argument '2.5' is invalid",
      );
    });

    it('unknown backend, missing required flags, unknown pretrained model', () => {
      expectRejected(
        ['eval', '--model', 'x', '--backend', 'webgpu'],
        "'--backend <name>' argument 'webgpu' is invalid. Allowed choices are cpu, wasm",
      );
      expectRejected(['train', '--task', 'digits'], "required option '--out <dir>' not specified");
      expectRejected(
        ['generate', '--pretrained', 'gpt-2', '--backend', 'cpu'],
        /--pretrained: unknown model "gpt-2"\. Accepted: .*char-lm-moby-dick-ea6/,
      );
      expectRejected(['eval', '--backend', 'cpu'], 'pass --model <dir>');
      expectRejected(
        ['train', '--task', 'digits', '--horizon', '6', '--out', 'x', '--backend', 'cpu'],
        '--horizon applies to forecasting tasks only',
      );
    });
  });

  it("bench reports each twin's training step time, peak step memory per token and decode speed", () => {
    const result = run(
      'bench',
      '--attention',
      'ea-2,softmax',
      '--d-model',
      '16',
      '--heads',
      '2',
      '--layers',
      '1',
      '--train-context',
      '32',
      '--batch-size',
      '2',
      '--train-steps',
      '2',
      '--context',
      '24',
      '--prompt-length',
      '8',
      '--tokens',
      '8',
    );
    expect(result.status, result.stderr).toBe(0);
    const header = result.stdout.split('\n').find((line) => line.includes('step peak MB'));
    expect(header, result.stdout).toBeDefined();
    const columns = (line: string) => line.split('│').map((cell) => cell.trim());
    const names = columns(header as string);
    for (const label of ['EA-2', 'softmax']) {
      const row = result.stdout.split('\n').find((line) => columns(line)[1] === label);
      expect(row, `${label} row in:\n${result.stdout}`).toBeDefined();
      const cells = columns(row as string);
      const perToken = Number(cells[names.indexOf('KB per train token')]);
      // A step holds at least its activations: several dModel-wide float32 tensors per token.
      expect(perToken, `${label}: KB per train token`).toBeGreaterThan((16 * 4 * 4) / 1024);
      expect(Number(cells[names.indexOf('decode tokens/s')])).toBeGreaterThan(0);
    }
  });

  it('bench --train-contexts measures each context, with --recompute, and skips one predicted too slow', () => {
    const common = ['--attention', 'ea-2', '--d-model', '16', '--layers', '1', '--batch-size', '2'];
    const sweep = (...extra: string[]) =>
      run('bench', ...common, '--train-steps', '2', '--train-contexts', '16,64', ...extra);
    const columns = (line: string) => line.split('│').map((cell) => cell.trim());
    const rowsOf = (stdout: string) =>
      stdout
        .split('\n')
        .map(columns)
        .filter((cells) => cells[1] === 'EA-2');
    const plain = sweep();
    expect(plain.status, plain.stderr).toBe(0);
    const recomputed = sweep('--recompute');
    expect(recomputed.status, recomputed.stderr).toBe(0);
    expect(recomputed.stdout).toContain('blocks recomputed in the backward pass');
    const header = columns(
      plain.stdout.split('\n').find((line) => line.includes('KB per train token')) as string,
    );
    const perToken = (cells: string[]) => Number(cells[header.indexOf('KB per train token')]);
    const [plainRows, recomputedRows] = [rowsOf(plain.stdout), rowsOf(recomputed.stdout)];
    expect(plainRows.map((cells) => cells[2])).toEqual(['16', '64']);
    for (const rows of [plainRows, recomputedRows]) {
      for (const cells of rows) expect(cells[header.indexOf('note')]).toBe('measured');
    }
    // Recomputing the block keeps less per token at the longer context.
    expect(perToken(recomputedRows[1])).toBeLessThan(perToken(plainRows[1]));
    // No step takes under a millisecond: the longer contexts are skipped, with predictions.
    const skipping = run(
      'bench',
      ...common,
      '--train-steps',
      '2',
      '--train-contexts',
      '16,64,128',
      '--max-step-seconds',
      '0.001',
    );
    expect(skipping.status, skipping.stderr).toBe(0);
    const notes = rowsOf(skipping.stdout).map((cells) => cells[header.indexOf('note')]);
    expect(notes[0]).toBe('measured');
    expect(notes[1]).toMatch(/^skipped: predicted [0-9.]+ s per step > --max-step-seconds 0.001$/);
    expect(notes[2]).toMatch(/^skipped: predicted [0-9.]+ s per step > --max-step-seconds 0.001$/);
    expect(
      run('bench', ...common, '--train-contexts', '16', '--max-step-seconds', '0').stderr,
    ).toContain('Expected a number > 0, got 0.');
  });

  it('checks --out before loading data or training', () => {
    const dir = mkdtempSync(join(tmpdir(), 'elementwise-cli-out-'));
    try {
      const file = join(dir, 'taken');
      writeFileSync(file, 'not a directory');
      const onFile = run('train', '--task', 'moby-dick', '--backend', 'cpu', '--out', file);
      expect(onFile.status).toBe(1);
      expect(onFile.stderr).toContain(`error: --out: ${file} is a file, not a directory`);
      expect(onFile.stderr).not.toContain('training ');
      const below = run('train', '--task', 'moby-dick', '--out', join(file, 'model', 'v1'));
      expect(below.status).toBe(1);
      expect(below.stderr).toContain(
        `error: --out: cannot create ${join(file, 'model', 'v1')}: ${file} is a file, not a directory`,
      );
      expect(below.stderr).not.toContain('training ');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('train → eval → generate round trip (tiny char LM on cpu)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'elementwise-cli-'));
    const out = join(dir, 'model');
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('trains and saves the model with its training record', () => {
      const { status, stdout, stderr } = run(
        'train',
        '--task',
        'moby-dick',
        '--attention',
        'ea-2',
        '--backend',
        'cpu',
        '--d-model',
        '16',
        '--heads',
        '2',
        '--layers',
        '1',
        '--context',
        '32',
        '--steps',
        '4',
        '--batch-size',
        '4',
        '--eval-every',
        '2',
        '--eval-batches',
        '1',
        '--warmup',
        '1',
        '--seed',
        '3',
        '--out',
        out,
      );
      expect(status, stderr).toBe(0);
      expect(stderr).toContain('training EA-2 on moby-dick');
      expect(stdout).toMatch(/test\s*│\s*[\d,]+\s*│\s*\d+\.\d{4}/);
      expect(existsSync(join(out, 'model.json'))).toBe(true);
      const record = JSON.parse(readFileSync(join(out, 'training.json'), 'utf8'));
      expect(record.task).toBe('moby-dick');
      expect(record.attention).toBe('EA-2');
      expect(record.backend).toBe('cpu');
      expect(record.training.steps).toBe(4);
      // An untrained char LM over ~90 characters is near log2(90) ≈ 6.5 bits per char.
      expect(record.test.bitsPerChar).toBeGreaterThan(2);
      expect(record.test.bitsPerChar).toBeLessThan(10);
    });

    it('evaluates the saved model to the same test metrics', () => {
      const record = JSON.parse(readFileSync(join(out, 'training.json'), 'utf8'));
      const { status, stdout, stderr } = run('eval', '--model', out, '--backend', 'cpu');
      expect(status, stderr).toBe(0);
      expect(stdout).toContain('moby-dick: test split, backend cpu');
      expect(stdout).toContain(record.test.bitsPerChar.toFixed(4));
    });

    it('streams generated characters and reports tokens/s', () => {
      const { status, stdout, stderr } = run(
        'generate',
        '--model',
        out,
        '--backend',
        'cpu',
        '--prompt',
        'The whale ',
        '--max-tokens',
        '25',
      );
      expect(status, stderr).toBe(0);
      const match =
        /── EA-2 .*\n(The whale [\s\S]*?)\n\[25 tokens: (\d+\.\d) tokens\/s decoding/.exec(stdout);
      expect(match, stdout).not.toBeNull();
      expect([...(match?.[1] ?? '')].length).toBe('The whale '.length + 25);
      expect(Number(match?.[2])).toBeGreaterThan(0);
    });
  });
});
