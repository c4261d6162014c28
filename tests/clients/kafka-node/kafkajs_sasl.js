// kafkajs 2.2.4 over SASL_PLAINTEXT: produce and consume back with the given
// mechanism, or report the error of a login that fails.
// Usage: node kafkajs_sasl.js HOST:PORT MECHANISM USER PASSWORD TOPIC
// Prints one JSON object; the pytest side asserts.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const [broker, mechanism, username, password, topic] = process.argv.slice(2);
  const kafka = new Kafka({ clientId: 'sluice-sasl', brokers: [broker], logLevel: logLevel.NOTHING,
                            sasl: { mechanism, username, password }, retry: { retries: 0 } });
  const producer = kafka.producer();
  try {
    await producer.connect();
  } catch (e) {
    console.log(JSON.stringify({ error: e.name, message: e.message }));
    return;
  }
  await producer.send({ topic, acks: -1, messages: [{ value: 'one' }, { value: 'two' }] });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: 'g-' + topic });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got = [];
  await new Promise((resolve) => {
    consumer.run({ eachMessage: async ({ message }) => {
      got.push(message.value.toString());
      if (got.length === 2) resolve();
    } });
  });
  await consumer.disconnect();
  console.log(JSON.stringify({ got }));
}

main().catch((e) => { console.error(e); process.exit(1); });
