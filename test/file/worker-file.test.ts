import { runWorkerSuite } from '../support/worker-suite.js';
import { tempBrokerUrl } from '../support/harness.js';
import { testRedisUrl } from '../support/helpers.js';

const url = tempBrokerUrl();
runWorkerSuite('the embedded file broker', () => url);
runWorkerSuite('the embedded file broker', () => url, { resultBackend: testRedisUrl() });
