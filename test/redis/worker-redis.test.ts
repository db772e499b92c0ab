import { testRedisUrl } from '../support/helpers.js';
import { runWorkerSuite } from '../support/worker-suite.js';

runWorkerSuite('Redis', testRedisUrl);
