// kafkajs 2.2.4 consumer groups against sluiced, driven by
// tests/integration/test_kafka_groups_node.py. Prints one JSON object:
//   eachMessage: values consumed by two members of group "kjs-msg"
//   eachBatch:   values consumed by one member of group "kjs-batch" that
//                resolves offsets and commits itself
//   offsets:     committed offsets of both groups (admin fetchOffsets)
//   resumed:     values a new member of "kjs-msg" got after more produce
//   describe:    the groups as DescribeGroups reports them
// Usage: node groups_test.js <bootstrap> <topic>
'use strict'
const { Kafka, logLevel } = require('kafkajs')

const [broker, topic] = process.argv.slice(2)
const kafka = new Kafka({ clientId: 'kjs-groups', brokers: [broker], logLevel: logLevel.NOTHING })
const PARTS = 4

function sleep (ms) { return new Promise(resolve => setTimeout(resolve, ms)) }

async function waitFor (cond, what, ms = 60000) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (cond()) return
    await sleep(50)
  }
  throw new Error('timed out waiting for ' + what)
}

async function produce (producer, start, n) {
  const messages = []
  for (let i = start; i < start + n; i++) {
    messages.push({ partition: i % PARTS, value: 'v' + String(i).padStart(6, '0') })
  }
  await producer.send({ topic, messages, acks: -1 })
}

function member (groupId) {
  return kafka.consumer({ groupId, sessionTimeout: 10000, rebalanceTimeout: 10000, heartbeatInterval: 500, maxWaitTimeInMs: 200 })
}

async function main () {
  const out = {}
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTS }] })
  const producer = kafka.producer()
  await producer.connect()
  await produce(producer, 0, 1000)

  // eachMessage, two members sharing the partitions; commits are kafkajs'
  // own (autoCommit after each message is processed).
  const got = []
  const members = [member('kjs-msg'), member('kjs-msg')]
  const joined = [false, false]
  for (const [i, c] of members.entries()) {
    c.on(c.events.GROUP_JOIN, () => { joined[i] = true })
    await c.connect()
    await c.subscribe({ topic, fromBeginning: true })
    await c.run({ eachMessage: async ({ message }) => { got.push(message.value.toString()) } })
  }
  await waitFor(() => got.length >= 1000 && joined.every(Boolean), 'eachMessage consumption')
  out.describe = await admin.describeGroups(['kjs-msg'])
  for (const c of members) await c.disconnect()
  out.eachMessage = got

  // eachBatch: resolve each offset, heartbeat, commit when due.
  const batchGot = []
  const bc = member('kjs-batch')
  await bc.connect()
  await bc.subscribe({ topic, fromBeginning: true })
  await bc.run({
    eachBatchAutoResolve: false,
    autoCommit: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }) => {
      for (const m of batch.messages) {
        batchGot.push(m.value.toString())
        resolveOffset(m.offset)
      }
      await commitOffsetsIfNecessary({
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }] }]
      })
      await heartbeat()
    }
  })
  await waitFor(() => batchGot.length >= 1000, 'eachBatch consumption')
  await bc.disconnect()
  out.eachBatch = batchGot

  out.offsets = {}
  for (const groupId of ['kjs-msg', 'kjs-batch']) {
    const r = await admin.fetchOffsets({ groupId, topics: [topic] })
    out.offsets[groupId] = r[0].partitions.map(p => [p.partition, p.offset]).sort()
  }

  // A new member of the first group resumes where the group committed.
  await produce(producer, 1000, 200)
  const resumed = []
  const c3 = member('kjs-msg')
  await c3.connect()
  await c3.subscribe({ topic, fromBeginning: true })
  await c3.run({ eachMessage: async ({ message }) => { resumed.push(message.value.toString()) } })
  await waitFor(() => resumed.length >= 200, 'resumed consumption')
  await sleep(300)
  await c3.disconnect()
  out.resumed = resumed
  out.groups = (await admin.listGroups()).groups.map(g => [g.groupId, g.protocolType]).sort()

  await producer.disconnect()
  await admin.disconnect()
  process.stdout.write(JSON.stringify(out))
}

main().catch(e => { console.error(e); process.exit(1) })
