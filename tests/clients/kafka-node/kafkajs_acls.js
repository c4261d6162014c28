// kafkajs 2.2.4 admin ACL calls over SASL_PLAINTEXT (PLAIN): createAcls,
// describeAcls (by filter), deleteAcls, then describeAcls again; and, as a
// second user, a produce that the ACLs allow and one they refuse.
// Usage: node kafkajs_acls.js HOST:PORT ADMIN ADMINPW USER USERPW TOPIC
// Prints one JSON object; the pytest side asserts.
'use strict';
const { Kafka, logLevel, AclResourceTypes, AclOperationTypes, AclPermissionTypes,
        ResourcePatternTypes } = require('kafkajs');

function client(broker, username, password) {
  return new Kafka({ clientId: 'sluice-acls', brokers: [broker], logLevel: logLevel.NOTHING,
                     sasl: { mechanism: 'plain', username, password }, retry: { retries: 0 } });
}

async function produce(kafka, topic) {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [{ value: 'x' }] });
    return 'ok';
  } catch (e) {
    // Retries exhausted wrap the broker's error (KafkaJSNonRetriableError).
    const cause = e.originalError || e.cause || e;
    return cause.type || cause.name;
  } finally {
    await producer.disconnect();
  }
}

async function main() {
  const [broker, admin, adminpw, user, userpw, topic] = process.argv.slice(2);
  const kadmin = client(broker, admin, adminpw).admin();
  await kadmin.connect();
  await kadmin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const principal = 'User:' + user;
  const acl = {
    resourceType: AclResourceTypes.TOPIC, resourceName: topic,
    resourcePatternType: ResourcePatternTypes.LITERAL, principal, host: '*',
    operation: AclOperationTypes.WRITE, permissionType: AclPermissionTypes.ALLOW,
  };
  const out = {};
  out.before = await produce(client(broker, user, userpw), topic);
  out.create = await kadmin.createAcls({ acl: [acl] });
  const filter = {
    resourceType: AclResourceTypes.TOPIC, resourceName: topic,
    resourcePatternType: ResourcePatternTypes.LITERAL, principal, host: '*',
    operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY,
  };
  const d = await kadmin.describeAcls(filter);
  out.describe = d.resources;
  out.allowed = await produce(client(broker, user, userpw), topic);
  const del = await kadmin.deleteAcls({ filters: [filter] });
  out.deleted = del.filterResponses.map((f) => f.matchingAcls.length);
  out.after = (await kadmin.describeAcls(filter)).resources.length;
  out.denied_again = await produce(client(broker, user, userpw), topic);
  // A user without Alter on the cluster may not create ACLs.
  const uadmin = client(broker, user, userpw).admin();
  await uadmin.connect();
  try {
    await uadmin.createAcls({ acl: [acl] });
    out.user_create = 'ok';
  } catch (e) {
    const cause = e.originalError || e.cause || e;
    out.user_create = cause.type || cause.name;
  }
  await uadmin.disconnect();
  await kadmin.disconnect();
  console.log(JSON.stringify(out));
}

main().catch((e) => { console.error(e); process.exit(1); });
