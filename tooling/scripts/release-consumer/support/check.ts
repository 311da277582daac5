/** The consumer's assertion: a failure throws, naming the package whose consumer failed. */
export function checkerFor(packageName: string): (condition: boolean, message: string) => void {
  return (condition, message) => {
    if (!condition) throw new Error(`${packageName} consumer: ${message}`);
  };
}
