import { testRedisUrl } from '../support/helpers.js';
import { runScriptExitSuite } from '../support/script-exit-suite.js';

runScriptExitSuite('Redis', testRedisUrl);
