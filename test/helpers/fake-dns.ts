import { createSocket } from 'node:dgram';

/**
 * A DNS server on `address`:53 (UDP) that the gateway's resolver is pointed at (resolv.conf in its own mount
 * namespace): while `up`, it answers A queries for `names` and NXDOMAIN for other names (AAAA: no records); while
 * down, it reads every query and answers none — a DNS server gone quiet, which the resolver waits out for its whole
 * timeout. Needs root (port 53).
 */
export async function startFakeDns(address: string, names: Record<string, string>) {
  const socket = createSocket('udp4');
  const state = { up: true, queries: 0 };
  socket.on('message', (query, from) => {
    state.queries += 1;
    if (!state.up || query.length < 12) return;
    // the question: labels up to a zero byte, then type and class
    const labels: string[] = [];
    let at = 12;
    while (at < query.length && query[at] !== 0) {
      const length = query[at] as number;
      labels.push(query.toString('ascii', at + 1, at + 1 + length));
      at += 1 + length;
    }
    const questionEnd = at + 5;
    const type = query.readUInt16BE(at + 1);
    const name = labels.join('.').toLowerCase();
    const ip = names[name];
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // the id
    header.writeUInt16BE(ip === undefined ? 0x8183 : 0x8180, 2); // a response, recursion available; NXDOMAIN or not
    header.writeUInt16BE(1, 4);
    const answers = ip !== undefined && type === 1 ? 1 : 0;
    header.writeUInt16BE(answers, 6);
    const parts = [header, query.subarray(12, questionEnd)];
    if (answers === 1) {
      const record = Buffer.alloc(16);
      record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      record.writeUInt16BE(1, 2); // A
      record.writeUInt16BE(1, 4); // IN
      record.writeUInt32BE(60, 6); // TTL
      record.writeUInt16BE(4, 10);
      Buffer.from((ip as string).split('.').map(Number)).copy(record, 12);
      parts.push(record);
    }
    socket.send(Buffer.concat(parts), from.port, from.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(53, address, () => resolve());
  });
  return {
    state,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
