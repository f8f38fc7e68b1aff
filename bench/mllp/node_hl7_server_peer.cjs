// The benchmark's peer: node-hl7-server (npm) answering every message with AA, optionally
// storing each message durably first (write, fsync, rename, fsync directory: the same
// steps hisgate's store takes), with Node's asynchronous fs so fsyncs overlap as hisgate's do.
//
//   node node_hl7_server_peer.cjs PORT [STORE_DIR]     prints "READY" once listening
'use strict';
const fs = require('fs/promises');
const path = require('path');
const { Server } = require(path.join(__dirname, '..', 'node_modules', 'node-hl7-server'));

const port = Number(process.argv[2]);
const storeDir = process.argv[3] || '';
let sequence = 0;

async function persist(text) {
  const name = `${process.pid}-${sequence++}`;
  const tmp = path.join(storeDir, `.${name}.tmp`);
  const file = await fs.open(tmp, 'wx');
  await file.writeFile(text);
  await file.sync();
  await file.close();
  await fs.rename(tmp, path.join(storeDir, `${name}.hl7`));
  const dir = await fs.open(storeDir, 'r');
  await dir.sync();
  await dir.close();
}

const server = new Server({ bindAddress: '127.0.0.1' });
const inbound = server.createInbound({ port }, async (req, res) => {
  if (storeDir) await persist(req.getMessage().toString());
  await res.sendResponse('AA');
});
inbound.on('listen', () => console.log('READY'));
inbound.on('data.error', (err) => console.error('data.error', String(err)));
