/**
 * `ModelArtifacts.format` of files written by this package: a tfjs Layers model, which
 * `tf.loadLayersModel` reads once `@elementwise/layers` is imported (and, for a forecaster, this
 * package, which registers its last-position and time-embedding layers).
 */
export const MODEL_FORMAT = 'layers-model';
/** Version of the layout of `userDefinedMetadata.elementwise`; bumped on incompatible changes. */
export const FORMAT_VERSION = 2;
export const GENERATED_BY = '@elementwise/models';
