import { runInteropSuite } from '../support/interop-suite.js';

runInteropSuite('RabbitMQ', process.env['CELERYTS_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672//');
