/** Files imported with `?url` resolve to the URL the build serves them at. */
declare module '*?url' {
  const url: string;
  export default url;
}
