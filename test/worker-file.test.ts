import { runWorkerSuite } from './worker-suite.js';
import { tempBrokerUrl } from './harness.js';

const url = tempBrokerUrl();
runWorkerSuite('the embedded file broker', () => url);
