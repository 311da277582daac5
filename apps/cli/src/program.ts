import { Command, Option } from 'commander';
import { BACKENDS } from './backend.js';
import { baselinesCommand } from './commands/baselines.js';
import { benchCommand } from './commands/bench.js';
import { EVAL_SPLITS, evalCommand } from './commands/eval.js';
import { DEFAULT_PROMPT, generateCommand } from './commands/generate.js';
import { inspectCommand } from './commands/inspect.js';
import { recallCommand } from './commands/recall.js';
import { trainCommand } from './commands/train.js';
import {
  ATTENTION_NAMES_HELP,
  attentionListOption,
  integerListOption,
  integerOption,
  numberOption,
  parseAttention,
} from './options.js';
import { TASK_NAMES } from './tasks/index.js';

const backendOption = (fallback: string) =>
  new Option('--backend <name>', 'tfjs backend (fused EA kernels from @elementwise/backend-cpu)')
    .choices(BACKENDS)
    .default(fallback);

const modelSourceOptions = (command: Command) =>
  command
    .option('--model <dirs...>', 'model directories written by "elementwise train"')
    .option(
      '--pretrained <names...>',
      'shipped models of @elementwise/models (see "elementwise list")',
    );

/** `--attention` of the commands that compare several attentions, with their default list. */
const attentionsOption = (defaults: string) =>
  new Option('--attention <names>', `comma-separated attentions: ${ATTENTION_NAMES_HELP}`)
    .argParser(attentionListOption)
    .default(attentionListOption(defaults), defaults);

const splitOption = () =>
  new Option('--split <name>', 'held-out split').choices(EVAL_SPLITS).default('test');

/** Models read on the held-out split of their task's data. */
const heldOutModelOptions = (command: Command) =>
  modelSourceOptions(command)
    .addOption(new Option('--task <name>', 'task, when the model fits several').choices(TASK_NAMES))
    .addOption(splitOption());

/** Options of EA's q and k; they leave softmax attention in the same list alone. */
const eaOptions = (command: Command) =>
  command
    .addOption(
      new Option('--qk-norm <kind>', 'RMS-normalise q and k before EA')
        .choices(['none', 'rms'])
        .default('none'),
    )
    .option(
      '--qk-bound <b>',
      'map q and k through b·tanh(x / b) before EA, so |2qk| < 2b² (0: unbounded)',
      numberOption(0, 8),
      0,
    );

/** Block options beside the attention, the same for EA and its softmax twin. */
const blockOptions = (command: Command) =>
  eaOptions(command)
    .option(
      '--short-conv <size>',
      'causal depthwise convolution of this kernel size on q, k and v (0: none)',
      integerOption(0, 16),
      0,
    )
    .option('--output-gate', 'gate the attention output by silu(x W_g + b_g)', false);

/** The `elementwise` command line. */
export function createProgram(): Command {
  const program = new Command('elementwise')
    .description(
      'Train, evaluate, run and benchmark element-wise attention (EA) models against their softmax twins on real datasets.',
    )
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (text, write) => write(text) });

  const train = program
    .command('train')
    .description(
      'train a model on a task and save it (model.json + weights + training.json) to --out',
    )
    .addOption(
      new Option('--task <name>', 'dataset and model kind')
        .choices(TASK_NAMES)
        .makeOptionMandatory(),
    )
    .requiredOption('--out <dir>', 'directory to write the trained model to')
    .addOption(
      new Option('--attention <name>', `attention: ${ATTENTION_NAMES_HELP}`)
        .argParser((value) => [parseAttention(value)])
        .default([parseAttention('ea-6')], 'ea-6'),
    )
    .addOption(backendOption('wasm'))
    .option('--horizon <months>', 'forecast horizon (co2 task)', integerOption(1, 120))
    .option('--steps <n>', 'training steps (task default if omitted)', integerOption(1))
    .option('--batch-size <n>', 'sequences per step', integerOption(1))
    .option('--lr <rate>', 'peak learning rate', numberOption(0, 1, true))
    .option('--warmup <steps>', 'linear warm-up steps', integerOption(0))
    .option('--min-lr <rate>', 'learning rate at the end of the cosine decay', numberOption(0, 1))
    .option('--weight-decay <rate>', 'decoupled weight decay', numberOption(0, 1))
    .option(
      '--recompute',
      "recompute each block's activations in the backward pass (less memory per step)",
      false,
    )
    .option(
      '--clip-norm <norm>',
      'global gradient-norm clip',
      numberOption(0, Number.POSITIVE_INFINITY, true),
    )
    .option('--eval-every <steps>', 'validation interval in steps', integerOption(1))
    .option('--eval-batches <n>', 'validation batches per evaluation', integerOption(1))
    .option('--patience <evaluations>', 'early stopping patience (0: off)', integerOption(0))
    .option('--d-model <n>', 'model width', integerOption(1))
    .option('--heads <n>', 'softmax attention heads (EA ignores it)', integerOption(1))
    .option('--layers <n>', 'transformer blocks', integerOption(1))
    .option('--context <n>', 'sequence length (characters for char LMs)', integerOption(1))
    .option('--ff-multiplier <n>', 'feed-forward width ÷ model width', integerOption(1))
    .option('--dropout <rate>', 'dropout rate', numberOption(0, 0.9))
    .addOption(new Option('--norm <kind>', 'layer norm placement').choices(['post', 'pre']))
    .addOption(
      new Option('--positional <kind>', 'positional embedding').choices([
        'sinusoidal',
        'learned',
        'time',
      ]),
    )
    .option('--seed <n>', 'seed for initialisation, batches and dropout', integerOption(0), 1);
  blockOptions(train).action(trainCommand);

  const recall = program
    .command('recall')
    .description(
      'in-context recall: train char LMs on key→value pairs followed by queries, and report how many held-out queries each answers',
    )
    .addOption(attentionsOption('softmax,ea-6,ea-2,ea-exact'))
    .addOption(backendOption('wasm'))
    .option('--pairs <n>', 'key→value pairs per sequence', integerOption(1, 26), 4)
    .option('--d-model <n>', 'model width', integerOption(1), 64)
    .option('--layers <n>', 'transformer blocks', integerOption(1), 2)
    .option('--heads <n>', 'softmax attention heads', integerOption(1), 4)
    .option('--steps <n>', 'training steps per model', integerOption(1), 1500)
    .option('--batch-size <n>', 'sequences per step', integerOption(1), 32)
    .option('--lr <rate>', 'peak learning rate', numberOption(0, 1, true), 3e-3)
    .option('--train-sequences <n>', 'training sequences', integerOption(1), 20000)
    .option('--test-sequences <n>', 'held-out test sequences', integerOption(1), 500)
    .option(
      '--seed <n>',
      'seed of the data, the initialisation and the batches',
      integerOption(0),
      1,
    )
    .option('--json <file>', 'also write the results as JSON to this file');
  blockOptions(recall).action(recallCommand);

  heldOutModelOptions(
    program
      .command('eval')
      .description(
        'evaluate models on the whole held-out split of their task and print a metrics table',
      ),
  )
    .addOption(backendOption('wasm'))
    .option('--batch-size <n>', 'evaluation batch size', integerOption(1))
    .option('--baselines', 'add the task’s model-free baselines to the table', false)
    .action(evalCommand);

  modelSourceOptions(
    program
      .command('generate')
      .description('stream text from char LMs as it is produced and report tokens/s'),
  )
    .option('--prompt <text>', 'text to continue', DEFAULT_PROMPT)
    .option('--max-tokens <n>', 'characters to generate', integerOption(1), 200)
    .option('--temperature <t>', 'sampling temperature (0: greedy)', numberOption(0), 0.8)
    .option('--top-k <k>', 'sample among the k most likely characters', integerOption(1))
    .option('--seed <n>', 'sampling seed', integerOption(0), 1)
    .addOption(backendOption('wasm'))
    .action(generateCommand);

  const bench = program
    .command('bench')
    .description(
      'measure EA vs softmax char-LM training step time and generation tokens/s at the same size',
    )
    .addOption(attentionsOption('ea-2,ea-6,softmax'))
    .addOption(backendOption('wasm'))
    .option('--d-model <n>', 'model width (moby-dick default if omitted)', integerOption(1))
    .option('--heads <n>', 'softmax attention heads', integerOption(1))
    .option('--layers <n>', 'transformer blocks', integerOption(1))
    .option('--train-context <n>', 'training sequence length', integerOption(1))
    .option('--context <n>', 'generation context (maximum length)', integerOption(2), 512)
    .option('--prompt-length <n>', 'prompt characters (from the test split)', integerOption(1), 32)
    .option('--tokens <n>', 'characters to generate', integerOption(1), 256)
    .option(
      '--train-steps <n>',
      'training steps to time (the first is warm-up)',
      integerOption(2),
      6,
    )
    .option('--batch-size <n>', 'training batch size', integerOption(1), 16)
    .option(
      '--recompute',
      "recompute each block's activations in the backward pass (less memory per step)",
      false,
    )
    .option(
      '--train-contexts <list>',
      'training only, at each of these contexts (comma-separated, e.g. 256,1024,4096), instead of one context and generation',
      integerListOption(2),
    )
    .option(
      '--max-step-seconds <s>',
      'with --train-contexts: skip a context whose predicted training step takes longer',
      numberOption(0, Number.POSITIVE_INFINITY, true),
      300,
    )
    .option(
      '--decode-positions <list>',
      'also time generation after prompts of these lengths (comma-separated, e.g. 100,1000,10000)',
      integerListOption(1),
    )
    .option('--seed <n>', 'seed', integerOption(0), 1);
  blockOptions(bench).action(benchCommand);

  program
    .command('baselines')
    .description(
      'print the model-free baselines of a task (gzip/xz, majority class, persistence, seasonal naive)',
    )
    .addOption(new Option('--task <name>', 'task').choices(TASK_NAMES).makeOptionMandatory())
    .addOption(splitOption())
    .option('--horizon <months>', 'forecast horizon (co2 task)', integerOption(1, 120))
    .action(baselinesCommand);

  heldOutModelOptions(
    program
      .command('inspect')
      .description(
        'distribution of |2qk| per layer of EA models on held-out data (where the Taylor series is accurate)',
      ),
  )
    .option('--batch-size <n>', 'sequences read', integerOption(1), 16)
    .addOption(backendOption('wasm'))
    .action(inspectCommand);

  program
    .command('list')
    .description('list the pretrained models shipped with @elementwise/models')
    .action(async () => (await import('./commands/list.js')).listCommand());

  return program;
}

/** Parses `argv` (as `process.argv`) and runs the command. */
export async function runCli(argv: string[]): Promise<void> {
  await createProgram().parseAsync(argv);
}
