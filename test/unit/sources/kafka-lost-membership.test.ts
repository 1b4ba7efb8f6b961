/**
 * Which kafkajs crashes the Kafka source recovers from by joining again with a new member
 * (kafkajs itself does not restart after them), and which stay fatal.
 */
import t from 'tap';
import kafkajs from 'kafkajs';
import { lostMembership } from '../../../src/sources/kafka.source.js';

const { KafkaJSNonRetriableError, KafkaJSProtocolError, KafkaJSGroupCoordinatorNotFound, KafkaJSNumberOfRetriesExceeded } = kafkajs;

/** kafkajs's protocol error for a Kafka error code, as its decoder builds it. */
const protocol = (type: string, message: string) => Object.assign(new KafkaJSProtocolError(message), { type });

t.test('lost membership: the coordinator forgot the member, however kafkajs wraps it', async (t) => {
  const unknownMember = protocol('UNKNOWN_MEMBER_ID', 'The coordinator is not aware of this member');
  t.ok(lostMembership(unknownMember), 'the protocol error itself');
  t.ok(lostMembership(new KafkaJSNonRetriableError(unknownMember)), 'wrapped by the retrier (the crash seen after a broker outage)');
  t.ok(lostMembership(new KafkaJSNumberOfRetriesExceeded(new KafkaJSNonRetriableError(unknownMember), { retryCount: 5, retryTime: 100 })), 'wrapped twice');
  t.ok(lostMembership(protocol('ILLEGAL_GENERATION', 'Specified group generation id is not valid')), 'a stale generation');
  // kafkajs's types declare no constructor arguments; at run time it takes the message.
  const notFound = new (KafkaJSGroupCoordinatorNotFound as unknown as new (message: string) => Error)('Failed to find group coordinator');
  t.ok(lostMembership(notFound), 'no coordinator found (kafkajs#1630)');
});

t.test('fatal crashes stay fatal', async (t) => {
  t.notOk(lostMembership(protocol('SASL_AUTHENTICATION_FAILED', 'SASL Authentication failed')), 'authentication');
  t.notOk(lostMembership(new KafkaJSNonRetriableError(protocol('GROUP_AUTHORIZATION_FAILED', 'Not authorized to access group'))), 'group authorisation');
  t.notOk(lostMembership(protocol('TOPIC_AUTHORIZATION_FAILED', 'Not authorized to access topics')), 'topic authorisation');
  t.notOk(lostMembership(new Error('boom')), 'an unrelated error');
  t.notOk(lostMembership(undefined), 'nothing');
  const loop: { message: string; cause?: unknown } = { message: 'loop' };
  loop.cause = loop;
  t.notOk(lostMembership(loop), 'a cause cycle ends');
});
