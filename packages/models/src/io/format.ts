/** `ModelArtifacts.format` of files written by this package. */
export const MODEL_FORMAT = 'elementwise-model';
/** Version of the layout of `userDefinedMetadata.elementwise`; bumped on incompatible changes. */
export const FORMAT_VERSION = 1;
export const GENERATED_BY = '@elementwise/models';
