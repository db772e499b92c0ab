import { runWorkerSuite } from '../support/worker-suite.js';
import { testRedisUrl } from '../support/helpers.js';

const amqpUrl = () => process.env['CELERYTS_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
runWorkerSuite('RabbitMQ', amqpUrl);
runWorkerSuite('RabbitMQ', amqpUrl, { resultBackend: testRedisUrl() });
