/**
 * A TCP proxy on 127.0.0.1 that delays every chunk by half a round trip each way, so a relay on
 * loopback answers as one across a network would (`tc netem` would slow every test on the
 * machine). Run as its own process by the bench: it prints its port and forwards to TARGET.
 *   node --import tsx bench/latency-proxy.ts TARGET_PORT RTT_MS
 */
import net from 'node:net';

const [target, rtt] = process.argv.slice(2).map(Number) as [number, number];
const half = rtt / 2;

const server = net.createServer((client) => {
  const upstream = net.connect(target, '127.0.0.1');
  for (const s of [client, upstream]) s.setNoDelay(true);
  const pipe = (from: net.Socket, to: net.Socket) => {
    from.on('data', (d) => setTimeout(() => to.writable && to.write(d), half));
    from.on('end', () => setTimeout(() => to.end(), half));
    from.on('error', () => to.destroy());
  };
  pipe(client, upstream);
  pipe(upstream, client);
});
server.listen(0, '127.0.0.1', () => console.log(String((server.address() as net.AddressInfo).port)));
process.on('disconnect', () => process.exit(0));
