/**
 * The kubelet's port-forward endpoint, and nothing else of the kubelet: enough for the API server's
 * pods/portforward to reach a "pod" in the test control plane, which has no nodes. The API server
 * proxies a WebSocket client (client-node, `v4.channel.k8s.io`) straight through to
 * `https://<node address>:<kubeletEndpoint port>/portForward/<ns>/<pod>?port=N`; this server speaks
 * the kubelet's side of that protocol (pkg/kubelet/cri/streaming/portforward/websocket.go upstream):
 * channel 0 carries data, channel 1 errors, and the first frame on each starts with the port
 * (uint16, little endian). Each stream is connected to 127.0.0.1:N, as a container runtime connects
 * to localhost:N inside the pod's network namespace (a host-network agent's is the node's).
 *
 * WebSocket framing is written out here (RFC 6455, server side: unmasked frames out, masked in):
 * the repository has no WebSocket server dependency.
 */
import { createHash } from 'node:crypto';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { issueCert } from '../../harness/controlplane/pki.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function frame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const header = len < 126 ? Buffer.from([0x80 | opcode, len]) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (len >= 126) {
    header[0] = 0x80 | opcode;
    if (len < 65536) {
      header[1] = 126;
      header.writeUInt16BE(len, 2);
    } else {
      header[1] = 127;
      header.writeBigUInt64BE(BigInt(len), 2);
    }
  }
  return Buffer.concat([header, payload]);
}

/** Splits complete client frames off `buf`; returns them and what is left. */
function parseFrames(buf: Buffer): { frames: Array<{ opcode: number; payload: Buffer }>; rest: Buffer } {
  const frames: Array<{ opcode: number; payload: Buffer }> = [];
  let off = 0;
  for (;;) {
    if (buf.length - off < 2) break;
    const b0 = buf[off] ?? 0;
    const b1 = buf[off + 1] ?? 0;
    let len = b1 & 0x7f;
    let pos = off + 2;
    if (len === 126) {
      if (buf.length - pos < 2) break;
      len = buf.readUInt16BE(pos);
      pos += 2;
    } else if (len === 127) {
      if (buf.length - pos < 8) break;
      len = Number(buf.readBigUInt64BE(pos));
      pos += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    if (buf.length - pos < (masked ? 4 : 0) + len) break;
    const mask = masked ? buf.subarray(pos, pos + 4) : undefined;
    if (masked) pos += 4;
    const payload = Buffer.from(buf.subarray(pos, pos + len));
    if (mask) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] ?? 0) ^ (mask[i % 4] ?? 0);
    frames.push({ opcode: b0 & 0x0f, payload });
    off = pos + len;
  }
  return { frames, rest: buf.subarray(off) };
}

function portHeader(channel: number, port: number): Buffer {
  const b = Buffer.alloc(3);
  b[0] = channel;
  b.writeUInt16LE(port, 1);
  return b;
}

export interface FakeKubelet {
  readonly port: number;
  /** "ns/pod:port" of every stream opened, in order. */
  readonly forwards: string[];
  close(): Promise<void>;
}

function serveStream(socket: Duplex, port: number): void {
  const send = (channel: number, data: Buffer) => socket.write(frame(0x2, Buffer.concat([Buffer.from([channel]), data])));
  socket.write(frame(0x2, portHeader(0, port)));
  socket.write(frame(0x2, portHeader(1, port)));
  const upstream = net.connect(port, '127.0.0.1');
  let pending: Buffer = Buffer.alloc(0);
  upstream.on('data', (chunk: Buffer) => send(0, chunk));
  upstream.on('error', (e) => {
    send(1, Buffer.from(`an error occurred forwarding ${port} -> ${port}: ${e.message}`));
    socket.end(frame(0x8, Buffer.alloc(0)));
  });
  upstream.on('end', () => socket.end(frame(0x8, Buffer.alloc(0))));
  socket.on('data', (chunk: Buffer) => {
    const { frames, rest } = parseFrames(Buffer.concat([pending, chunk]));
    pending = rest;
    for (const f of frames) {
      if (f.opcode === 0x8) {
        upstream.end();
        socket.end(frame(0x8, Buffer.alloc(0)));
      } else if (f.opcode === 0x9) socket.write(frame(0xa, f.payload));
      else if ((f.opcode === 0x2 || f.opcode === 0x0) && f.payload[0] === 0 && f.payload.length > 1) upstream.write(f.payload.subarray(1));
    }
  });
  socket.on('close', () => upstream.destroy());
  socket.on('error', () => upstream.destroy());
}

export async function startFakeKubelet(): Promise<FakeKubelet> {
  const cert = await issueCert('fake-kubelet', { kind: 'server', dnsNames: ['localhost'], ips: ['127.0.0.1'] });
  const forwards: string[] = [];
  const upgraded = new Set<Duplex>();
  const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => {
    res.writeHead(404).end('this fake kubelet serves /portForward only\n');
  });
  server.on('upgrade', (req, socket) => {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const match = /^\/portForward\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    const port = Number(url.searchParams.get('port'));
    const key = req.headers['sec-websocket-key'];
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!match || !Number.isInteger(port) || port < 1 || typeof key !== 'string' || !offered.includes('v4.channel.k8s.io')) {
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    forwards.push(`${match[1]}/${match[2]}:${port}`);
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    const accept = createHash('sha1').update(key + GUID).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n`);
    serveStream(socket, port);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake kubelet: no address');
  return {
    port: address.port,
    forwards,
    close: () => new Promise<void>((resolve) => {
      for (const s of upgraded) s.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
