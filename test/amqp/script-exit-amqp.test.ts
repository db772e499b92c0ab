import { runScriptExitSuite } from '../support/script-exit-suite.js';

runScriptExitSuite('RabbitMQ', () => process.env['CELERYTS_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672');
