/**
 * The reference the proxy must beat, measured in the same run: a bare TCP splice (stream pipe,
 * Nagle off) from a local port to Chromium's debugging port. No token, no handshake of its own.
 * Run as its own process, as the node is: `node --import tsx splice-reference.ts <chromiumPort>`;
 * prints the port it listens on.
 */
import { connect, createServer } from "node:net";

const chromiumPort = Number(process.argv[2]);
const server = createServer({ noDelay: true }, (client) => {
  const upstream = connect({ host: "127.0.0.1", port: chromiumPort, noDelay: true });
  client.pipe(upstream).on("error", () => {});
  upstream.pipe(client).on("error", () => {});
  client.on("error", () => upstream.destroy());
  upstream.on("error", () => client.destroy());
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`${typeof address === "object" && address ? address.port : 0}\n`);
});
