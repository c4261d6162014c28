// kafkajs 2.2.4 transactions against sluiced: a committed transaction with
// sendOffsets, an aborted one, a last committed one; then a read_committed
// consumer reads the output topic up to the last record of each partition. Usage:
// node kafkajs_txn.js HOST:PORT PREFIX. Prints one JSON object with what it
// observed; the pytest side asserts.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const [broker, prefix] = process.argv.slice(2);
  const input = `${prefix}-in`;
  const output = `${prefix}-out`;
  const group = `${prefix}-group`;
  const kafka = new Kafka({ clientId: 'sluice-txn', brokers: [broker], logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: input, numPartitions: 1 }, { topic: output, numPartitions: 2 }],
                             waitForLeaders: true });

  const producer = kafka.producer({ transactionalId: `${prefix}-tx`, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();

  let txn = await producer.transaction();
  await txn.send({ topic: output, messages: [0, 1, 2, 3, 4].map((i) => ({ value: `ok-${i}`, partition: i % 2 })) });
  await txn.sendOffsets({ consumerGroupId: group, topics: [{ topic: input, partitions: [{ partition: 0, offset: '10' }] }] });
  await txn.commit();

  txn = await producer.transaction();
  await txn.send({ topic: output, messages: [0, 1, 2].map((i) => ({ value: `aborted-${i}`, partition: i % 2 })) });
  await txn.sendOffsets({ consumerGroupId: group, topics: [{ topic: input, partitions: [{ partition: 0, offset: '99' }] }] });
  await txn.abort();

  txn = await producer.transaction();
  await txn.send({ topic: output, messages: [{ value: 'last-0', partition: 0 }, { value: 'last-1', partition: 1 }] });
  await txn.commit();
  await producer.disconnect();

  const committed = await admin.fetchOffsets({ groupId: group, topics: [input] });
  const consumer = kafka.consumer({ groupId: `${prefix}-reader`, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic: output, fromBeginning: true });
  const seen = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out; seen ${JSON.stringify(seen)}`)), 60000);
    consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value.toString());
        // Each partition's last record comes after its aborted ones.
        if (seen.includes('last-0') && seen.includes('last-1')) {
          clearTimeout(timer);
          resolve();
        }
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  await admin.disconnect();
  console.log(JSON.stringify({ seen, committed }));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
