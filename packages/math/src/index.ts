/**
 * `@elementwise/math`: float64 reference implementations of element-wise attention (EA,
 * arXiv 2501.05730) — exact, series, causal, recurrent and backward — with no tfjs dependency.
 * Every other implementation in the project is tested against these.
 */
export type { EaBackwardOptions, EaBackwardResult } from './backward.js';
export { eaBackward } from './backward.js';
export { isZeroDenominator, MIN_NORMAL_FLOAT64 } from './denominator.js';
export { centralDifferenceGradient } from './finite_difference.js';
export type { EaForwardOptions, EaForwardResult } from './forward.js';
export { eaForward } from './forward.js';
export type { GroupFeatures } from './group_features.js';
export {
  groupFeatureCount,
  groupFeatures,
  MAX_GROUP_FEATURES,
  monomials,
} from './group_features.js';
export type { GroupedOptions, GroupedResult } from './grouped.js';
export { groupedForward, groupedStateShape, groupedStep } from './grouped.js';
export { maxAbsError, relativeRmsError } from './metrics.js';
export {
  assertOrder,
  assertSeriesOrder,
  isSeriesOrder,
  MAX_ORDER,
  orderProblem,
} from './order.js';
export { randomGenerator, randomNormal, randomUniform } from './random.js';
export type {
  StepBackwardOptions,
  StepBackwardResult,
  StepOptions,
  StepResult,
} from './recurrent.js';
export { eaStep, eaStepBackward } from './recurrent.js';
export {
  type SoftmaxDims,
  selfAttentionDims,
  softmaxAttention64,
  softmaxAttentionRows64,
  softmaxLoss64,
} from './softmax.js';
export { zeroState } from './state.js';
export type { TaylorError } from './taylor.js';
export {
  isPositiveTaylorOrder,
  taylorCoefficients,
  taylorPolynomial,
  taylorRelativeError,
} from './taylor.js';
export type {
  AttentionInputs,
  AttentionOptions,
  Dims,
  Order,
  State,
  State64,
} from './types.js';
