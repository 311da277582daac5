/** Accuracy of always answering the most frequent class of the training labels. */
export function majorityClassAccuracy(
  trainLabels: Int32Array,
  testLabels: Int32Array,
): {
  accuracy: number;
  majorityClass: number;
} {
  const counts = new Map<number, number>();
  for (const label of trainLabels) counts.set(label, (counts.get(label) ?? 0) + 1);
  let majorityClass = -1;
  let best = -1;
  for (const [label, count] of [...counts].sort((a, b) => a[0] - b[0])) {
    if (count > best) [majorityClass, best] = [label, count];
  }
  let correct = 0;
  for (const label of testLabels) if (label === majorityClass) correct += 1;
  return { accuracy: correct / testLabels.length, majorityClass };
}

/** Accuracy of predicting each label with a given guess per example. */
export function guessAccuracy(guesses: ArrayLike<number>, labels: Int32Array): number {
  if (guesses.length !== labels.length) {
    throw new Error(`guessAccuracy: ${guesses.length} guesses for ${labels.length} labels`);
  }
  let correct = 0;
  for (let i = 0; i < labels.length; i += 1) if (guesses[i] === labels[i]) correct += 1;
  return correct / labels.length;
}
