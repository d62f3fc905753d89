/**
 * The URL of a worker thread's module `name` next to the module at `from` (its import.meta.url).
 * Built, that is the .js file; run from the TypeScript source (tests, tsx), a small bootstrap
 * registers tsx in the thread first.
 */
export function threadModuleUrl(from: string, name: string): URL {
  if (!from.endsWith('.ts')) return new URL(`./${name}.js`, from);
  const thread = new URL(`./${name}.ts`, from).href;
  const bootstrap =
    `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))};` +
    `register(); await import(${JSON.stringify(thread)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`);
}
