/**
 * The Redis broker: the shared conformance suite on the test database, with a key prefix of its
 * own per run so it never meets another run's keys (every key and channel carries it).
 */
import { randomBytes } from 'node:crypto';
import { createRedisBroker } from '../../src/transport/redis/redis-broker.js';
import { runBrokerConformance } from '../support/broker-conformance.js';
import { testRedisUrl } from '../support/helpers.js';

const url = testRedisUrl();
const prefix = `ct-${randomBytes(3).toString('hex')}:`;

runBrokerConformance('redis', () => createRedisBroker(url, { globalKeyprefix: prefix }), { priority: true, exactDelay: true });
