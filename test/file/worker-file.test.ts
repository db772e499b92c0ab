import { runWorkerSuite } from '../support/worker-suite.js';
import { tempBrokerUrl } from '../support/harness.js';

const url = tempBrokerUrl();
runWorkerSuite('the embedded file broker', () => url);
