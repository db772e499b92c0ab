import { defineConfig, type UserConfig } from 'celeryts';

// The fault suite's project: root is this folder, so faults.ts is module `faults`. Each test
// gives its workers a queue of their own (and a dead-letter exchange, limits) through the env.
const env = process.env;
const queue = env['FAULTS_QUEUE'];
const queues: NonNullable<UserConfig['queues']> = queue && env['FAULTS_DLX'] ? { [queue]: { deadLetterExchange: env['FAULTS_DLX'] } } : {};

export default defineConfig({
  root: '.',
  imports: ['faults'],
  concurrency: 4,
  ...(queue ? { defaultQueue: queue } : {}),
  ...(env['FAULTS_QUEUE_TYPE'] === 'quorum' ? { defaultQueueType: 'quorum' as const } : {}),
  queues,
  ...(env['FAULTS_MAX_REDELIVERIES'] ? { maxRedeliveries: Number(env['FAULTS_MAX_REDELIVERIES']) } : {}),
  ...(env['FAULTS_CONTROL_SECRET'] ? { controlSecret: env['FAULTS_CONTROL_SECRET'] } : {}),
  ...(env['FAULTS_RECONNECT_MAX_RETRIES'] ? { brokerReconnectMaxRetries: Number(env['FAULTS_RECONNECT_MAX_RETRIES']) } : {}),
  ...(env['FAULTS_DLQ'] ? { deadLetterQueue: env['FAULTS_DLQ'] } : {}),
  ...(env['FAULTS_MAX_BYTES'] ? { maxMessageBytes: Number(env['FAULTS_MAX_BYTES']) } : {}),
  ...(env['FAULTS_VISIBILITY_TIMEOUT'] ? { brokerTransportOptions: { visibilityTimeout: Number(env['FAULTS_VISIBILITY_TIMEOUT']) } } : {}),
});
