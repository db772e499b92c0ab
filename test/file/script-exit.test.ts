import { tempBrokerUrl } from '../support/harness.js';
import { runScriptExitSuite } from '../support/script-exit-suite.js';

runScriptExitSuite('embedded file broker', tempBrokerUrl);
