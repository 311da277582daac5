import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { conformanceCases, describeCase } from '@elementwise/conformance';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The kit must fail kernels that break the contract. The fake backends in fixtures/ are run
 * through the kit in a child vitest process (a failing suite cannot run inside a passing one);
 * this file checks which of their tests failed, and why.
 */

interface AssertionResult {
  ancestorTitles: string[];
  title: string;
  status: 'passed' | 'failed' | 'skipped' | 'pending' | 'todo';
  failureMessages: string[];
}
interface JsonReport {
  testResults: { name: string; assertionResults: AssertionResult[] }[];
}

/** Per fixture file: each test by its path below the kit's top-level describe. */
type Results = Map<string, Map<string, AssertionResult>>;

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

async function runFixtures(): Promise<{ results: Results; stdout: string }> {
  const vitest = join(
    dirname(createRequire(import.meta.url).resolve('vitest/package.json')),
    'vitest.mjs',
  );
  const out = mkdtempSync(join(tmpdir(), 'ew-conformance-'));
  const report = join(out, 'report.json');
  // Vitest marks its workers with environment variables; the child must start afresh.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(VITEST|TEST$|NODE_ENV$)/.test(name)),
  );
  const args = ['run', '--config', join(fixtures, 'vitest.config.ts'), '--reporter=default'];
  args.push('--reporter=json', `--outputFile=${report}`);
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [vitest, ...args], { cwd: fixtures, env });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('close', () => resolve(output));
  });
  try {
    const json = JSON.parse(readFileSync(report, 'utf8')) as JsonReport;
    const results: Results = new Map();
    for (const file of json.testResults) {
      const tests = new Map<string, AssertionResult>();
      for (const test of file.assertionResults) {
        tests.set([...test.ancestorTitles.slice(1), test.title].join(' > '), test);
      }
      results.set(file.name.split('/').pop()!.replace('.fixture.ts', ''), tests);
    }
    return { results, stdout };
  } catch (error) {
    throw new Error(`the fixture run wrote no report (${String(error)}); its output:\n${stdout}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const FORWARD = 'forward matches the float64 oracle';
const GRADS = 'gradients through tf.grads match the oracle';
const NON_FINITE = 'non-finite inputs propagate to exactly the outputs that depend on them';
const HUGE_VALUES = 'huge values v, up to the float32 maximum, give the oracle answer, never NaN';
const LARGE = 'large finite queries give the oracle answer, never NaN';
const DIRECT_BACKWARD = 'the fused ElementwiseAttentionBackward called directly matches the oracle';
const DIRECT_FORWARD = `${FORWARD} > the fused ElementwiseAttentionForward called directly returns [y, finalS, finalZ] for every case`;
const SMALL_CASES = conformanceCases(151);

const withStatus = (tests: Map<string, AssertionResult>, status: AssertionResult['status']) =>
  [...tests].filter(([, test]) => test.status === status).map(([name]) => name);

describe('the kit catches broken kernels', () => {
  let results: Results;
  let stdout = '';
  const fixture = (name: string) => {
    const tests = results.get(name);
    if (!tests) throw new Error(`fixture ${name} did not run; output:\n${stdout}`);
    return tests;
  };

  // The fixtures run the whole kit several times in a child process: about two minutes on two
  // cores beside the other packages' tests, more under load, since the non-finite and
  // large-value suites joined it.
  beforeAll(async () => {
    ({ results, stdout } = await runFixtures());
  }, 600_000);

  it('a correct fake with every kernel fused passes, with the direct kernel tests run', () => {
    const tests = fixture('oracle_fused');
    expect(withStatus(tests, 'failed')).toEqual([]);
    for (const c of SMALL_CASES) {
      expect(tests.get(`${DIRECT_BACKWARD} > ${describeCase(c)}`)?.status).toBe('passed');
    }
    expect(tests.get(DIRECT_FORWARD)?.status).toBe('passed');
    expect(stdout).toContain(
      "backend 'oracle-fused' (float32, size small):\n  kernels: ElementwiseAttentionForward FUSED, " +
        'ElementwiseAttentionBackward FUSED, ElementwiseAttentionStep FUSED',
    );
  });

  it('the kernel of CONTRIBUTING-BACKEND.md passes, and the guide shows it and its test verbatim', () => {
    const guide = readFileSync(new URL('../CONTRIBUTING-BACKEND.md', import.meta.url), 'utf8');
    for (const file of ['step_kernel_cpu.ts', 'step_kernel_cpu.fixture.ts']) {
      expect(guide).toContain(`\`\`\`ts\n${readFileSync(join(fixtures, file), 'utf8')}\`\`\`\n`);
    }
    const tests = fixture('step_kernel_cpu');
    expect(withStatus(tests, 'failed')).toEqual([]);
    expect(tests.get('setup > the fused kernels the adapter expects are registered')?.status).toBe(
      'passed',
    );
    expect(stdout).toContain('ElementwiseAttentionStep FUSED');
  });

  it('an off-by-one causal window fails every causal forward test and nothing else', () => {
    const tests = fixture('broken_causal');
    const expected = [
      ...SMALL_CASES.filter((c) => c.causal).map((c) => `${FORWARD} > ${describeCase(c)}`),
      DIRECT_FORWARD,
      'recurrent step > a loop of 200 steps equals the causal parallel form and leaks nothing',
      'long sequence > causal prefix sums stay accurate at L = 4096 (D = 16, order 6)',
      'properties > recurrent steps equal the causal parallel form',
      'zero denominators and numerics > queries that see no unmasked key output 0 with zero gradients (order 6, causal: true)',
      'zero denominators and numerics > queries that see no unmasked key output 0 with zero gradients (order exact, causal: true)',
      'zero denominators and numerics > where e^{-k²} underflows for some keys only, each output is 0 or the oracle value, never NaN',
      "zero denominators and numerics > keys spread over |k| ≈ 0–30 give finite gradients, and y is 0 or the oracle's (causal: true)",
      'zero denominators and numerics > causal: no output depends on a later key, also where a near key follows far ones',
      ...['+∞ key', '+∞ query', '-∞ value', 'NaN key', 'NaN query', 'NaN value'].map(
        (name) => `${NON_FINITE} > ${name} (order 6, causal: true)`,
      ),
      `${NON_FINITE} > masked keys holding NaN or ±∞ never reach an output or a gradient`,
      ...[
        '10000000 at order 6',
        '100000 at order 8',
        '100 at order 20',
        '1e+37 at order 6',
        '1e+37 at order 8',
      ].map((name) => `${LARGE} > q·${name} (causal: true)`),
      ...[
        '2e+38 at order 6, L = 9 causal',
        '3e+37 at order 2, L = 48 causal mask',
        '1.5e+38 at order 6, L = 7 causal state',
      ].map((name) => `${HUGE_VALUES} > |v| up to ${name}`),
    ];
    expect(withStatus(tests, 'failed').sort()).toEqual(expected.sort());
    expect(stdout).toContain(
      "backend 'broken-causal' (float32, size small):\n  kernels: ElementwiseAttentionForward FUSED, " +
        'ElementwiseAttentionBackward composite, ElementwiseAttentionStep composite',
    );
  });

  it('an output element left unwritten on the WASM heap reads as NaN and fails', () => {
    const tests = fixture('unwritten_wasm');
    for (const c of SMALL_CASES) {
      const test = tests.get(`${FORWARD} > ${describeCase(c)}`);
      const last = c.batch * c.queries * c.channels - 1;
      expect(test?.status, describeCase(c)).toBe('failed');
      expect(test?.failureMessages[0]).toContain(`y: non-finite value NaN at index ${last} of`);
    }
    const failed = withStatus(tests, 'failed');
    expect(failed.filter((name) => name.startsWith(GRADS))).toEqual([]);
    expect(failed.filter((name) => name.startsWith('errors'))).toEqual([]);
    for (const name of failed) expect(tests.get(name)?.failureMessages[0], name).toContain('NaN');
    expect(tests.get('setup > fresh output buffers are poisoned with NaN')?.status).toBe('passed');
  });

  it('a backward kernel that leaks a scratch buffer fails on backend data ids', () => {
    const tests = fixture('leaky_backward');
    const failed = withStatus(tests, 'failed');
    for (const c of SMALL_CASES) {
      expect(failed).toContain(`${GRADS} > ${describeCase(c)}`);
      expect(failed).toContain(`${DIRECT_BACKWARD} > ${describeCase(c)}`);
    }
    expect(failed).toContain(
      'no leaks (tensors and backend data ids) > gradients (tf.grads), including the initial state',
    );
    expect(failed.filter((name) => name.startsWith(FORWARD))).toEqual([]);
    for (const name of failed) {
      expect(tests.get(name)?.failureMessages[0], name).toMatch(
        /tensors and backend data ids left behind[\s\S]*dataIds: [1-9]/,
      );
    }
  });
});
