import net from 'node:net';

/**
 * A TCP proxy in front of a server that can cut a connection after it has passed a number of
 * bytes from the server: a directory (or any server) that stops half way through an answer.
 */
export interface CutProxy {
  port: number;
  /** Server→client bytes of the last connection that ended. */
  lastBytes: number;
  /** Cut each new connection once this many server→client bytes went through (null: never). */
  cutAfter: number | null;
  cuts: number;
  close(): Promise<void>;
}

export async function startCutProxy(targetPort: number): Promise<CutProxy> {
  const sockets = new Set<net.Socket>();
  const proxy: CutProxy = { port: 0, lastBytes: 0, cutAfter: null, cuts: 0, close: async () => {} };
  const server = net.createServer((client) => {
    const limit = proxy.cutAfter;
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    let bytes = 0;
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d: Buffer) => {
      if (limit !== null && bytes + d.length >= limit) {
        client.write(d.subarray(0, Math.max(0, limit - bytes)));
        bytes = limit;
        proxy.cuts++;
        client.destroy();
        upstream.destroy();
        return;
      }
      bytes += d.length;
      client.write(d);
    });
    const end = () => {
      proxy.lastBytes = bytes;
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.port = (server.address() as net.AddressInfo).port;
  proxy.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  };
  return proxy;
}
