import './register_core_gradients.js';
import './register_gradients.js';

// The order bound lives in the oracle's package so that the oracle accepts the same orders;
// re-exported for code (model configs, CLIs) that depends on this package only.
export {
  groupFeatureCount,
  MAX_GROUP_FEATURES,
  MAX_ORDER,
  orderProblem,
} from '@elementwise/math';
export { isRecordingGradients } from './gradient_recording.js';
export * from './kernel_names.js';
export {
  type ElementwiseAttentionOptions,
  type ElementwiseAttentionResult,
  elementwiseAttention,
} from './ops/elementwise_attention.js';
export {
  type ElementwiseAttentionStepOptions,
  type ElementwiseAttentionStepResult,
  elementwiseAttentionStep,
} from './ops/elementwise_attention_step.js';
export {
  clearSoftmaxMaskCache,
  describeVariant,
  fastestSoftmaxVariant,
  type SoftmaxAttentionOptions,
  type SoftmaxVariant,
  softmaxAttention,
} from './ops/softmax_attention.js';
export {
  elementwiseAttentionGradConfig,
  elementwiseAttentionStepGradConfig,
} from './register_gradients.js';
export { type AttentionState, disposeState, zeroState } from './state.js';
