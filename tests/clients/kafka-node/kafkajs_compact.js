// kafkajs 2.2.4 against a compacted sluiced topic: reads partition 0 from
// offset 0 up to the end offset and reports the latest value per key, then
// sends a keyless record (refused by a compacted topic).
// Usage: node kafkajs_compact.js HOST:PORT TOPIC
// Prints one JSON object with what it observed; the pytest side asserts.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const [broker, topic] = process.argv.slice(2);
  const kafka = new Kafka({ clientId: 'sluice-compact', brokers: [broker], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const high = BigInt(offsets.find((o) => o.partition === 0).high);

  const consumer = kafka.consumer({ groupId: `compact-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const latest = {};
  let count = 0;
  let last = -1n;
  let bad = null;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout after ${count} records`)), 90000);
    consumer.run({
      eachMessage: async ({ message }) => {
        const off = BigInt(message.offset);
        if (off <= last) bad = `offset ${off} after ${last}`;
        last = off;
        count++;
        latest[message.key.toString()] = message.value === null ? null : message.value.toString();
        if (off + 1n >= high) {
          clearTimeout(timer);
          resolve();
        }
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  if (bad) throw new Error(bad);

  const producer = kafka.producer({ retry: { retries: 0 } });
  await producer.connect();
  let keylessError = null;
  try {
    await producer.send({ topic, messages: [{ value: 'no key' }], acks: -1 });
  } catch (e) {
    keylessError = e.type || (e.originalError && e.originalError.type) || e.name;
  }
  await producer.disconnect();
  process.stdout.write(JSON.stringify({ latest, count, keylessError }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
