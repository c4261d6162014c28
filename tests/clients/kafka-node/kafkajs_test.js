// kafkajs 2.2.4 against sluiced: a producer with keys, headers and gzip, and
// the admin client. Usage: node kafkajs_test.js HOST:PORT TOPIC
// Prints one JSON object with what it observed; the pytest side asserts.
'use strict';
const { Kafka, CompressionTypes, logLevel } = require('kafkajs');

async function main() {
  const [broker, topic] = process.argv.slice(2);
  const kafka = new Kafka({ clientId: 'sluice-test', brokers: [broker], logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  const created = await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  const createdAgain = await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });

  const producer = kafka.producer();
  await producer.connect();
  const sent = [];
  for (let batch = 0; batch < 5; batch++) {
    const messages = [];
    for (let i = 0; i < 20; i++) {
      const n = batch * 20 + i;
      messages.push({ key: `key-${n}`, value: `value-${n} ` + 'z'.repeat(200), partition: n % 2,
                      headers: { 'h-num': `${n}`, 'h-fixed': 'yes' } });
    }
    const res = await producer.send({ topic, messages, compression: CompressionTypes.GZIP, acks: -1 });
    for (const r of res) sent.push({ partition: r.partition, errorCode: r.errorCode, baseOffset: r.baseOffset });
  }
  await producer.disconnect();

  const offsets = await admin.fetchTopicOffsets(topic);
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] });
  const meta2 = await admin.fetchTopicMetadata({ topics: [topic] });
  const configs = await admin.describeConfigs({
    resources: [{ type: 2, name: topic, configNames: ['cleanup.policy', 'retention.ms'] }],
    includeSynonyms: false,
  });
  const topics = await admin.listTopics();
  const other = `${topic}-gone`;
  await admin.createTopics({ topics: [{ topic: other }] });
  await admin.deleteTopics({ topics: [other] });
  const topicsAfter = await admin.listTopics();
  await admin.disconnect();
  console.log(JSON.stringify({
    created, createdAgain, sent,
    offsets: offsets.map(o => ({ partition: o.partition, high: o.high, low: o.low })),
    partitions: meta.topics[0].partitions.length,
    partitionsAfter: meta2.topics[0].partitions.length,
    configs: configs.resources[0].configEntries.map(e => [e.configName, e.configValue]),
    listed: topics.includes(topic), otherGone: !topicsAfter.includes(other) && topics.includes(topic),
  }));
}

main().catch(e => { console.error(e); process.exit(1); });
