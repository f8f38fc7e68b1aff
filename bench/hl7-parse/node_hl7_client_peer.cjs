// node-hl7-client (npm, installed by ./run into bench/node_modules) on the messages
// hl7_parse_bench dumped. Parses every message to the full structure (segments, fields,
// repetitions, components, subcomponents; its leaves' toString() decodes escapes),
// counting leaves and their UTF-8 bytes. Prints one RESULT line.
//
//   node node_hl7_client_peer.cjs MESSAGES_FILE [SECONDS]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { Message } = require(path.join(__dirname, '..', 'node_modules', 'node-hl7-client'));

function onePass(texts) {
  let leaves = 0;
  let leafBytes = 0;
  for (const text of texts) {
    const message = new Message({ text });
    for (const segment of message) {
      let first = true;
      for (const field of segment) {
        if (first) { first = false; continue; }  // the segment name
        for (const repetition of field) {
          for (const component of repetition) {
            for (const sub of component) {
              const value = sub.toString();
              leaves += 1;
              leafBytes += Buffer.byteLength(value, 'utf8');
            }
          }
        }
      }
    }
  }
  return [leaves, leafBytes];
}

const data = fs.readFileSync(process.argv[2]);
const seconds = Number(process.argv[3] || 3);
const texts = data.toString('utf8').split('\x1c');
const size = data.length - (texts.length - 1);
onePass(texts);
let passes = 0;
let totals;
const start = process.hrtime.bigint();
let elapsed = 0;
do {
  totals = onePass(texts);
  passes += 1;
  elapsed = Number(process.hrtime.bigint() - start) / 1e9;
} while (elapsed < seconds);
const rate = passes / elapsed;
console.log(`RESULT node-hl7-client ${(rate * texts.length).toFixed(0)} ${(rate * size / 1e6).toFixed(2)} ${totals[0]} ${totals[1]}`);
