// Runs a verdaccio registry in a child process of the release check: `node verdaccio-child.mjs
// <config.yaml>`. Listens on 127.0.0.1 at a port the system picks and sends `{port}` over the
// IPC channel; exits when the parent goes away, so a crashed check leaves no registry behind.
import { runServer } from 'verdaccio';

const [configPath] = process.argv.slice(2);
if (!configPath || !process.send) {
  console.error('usage: node verdaccio-child.mjs <config.yaml> (started by release-check.mjs)');
  process.exit(2);
}

process.on('disconnect', () => process.exit(0));

const server = await runServer(configPath);
server.on('error', (/** @type {Error} */ error) => {
  console.error(`verdaccio: ${error.message}`);
  process.exit(1);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
});
