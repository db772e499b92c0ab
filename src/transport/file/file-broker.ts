/**
 * The embedded file broker: the virtual AMQP layer (virtual-broker.ts) over the file storage
 * driver (file-driver.ts), on a directory that several processes on one machine share.
 *
 * Usage: `new FileBroker('file://.celeryts/broker')` (relative to cwd) or `file:///abs/dir`.
 */
import { VirtualBroker } from '../virtual/virtual-broker.js';
import { FileDriver, type FileDriverOptions } from './file-driver.js';
import type { Layout } from './layout.js';

/** A file-backed broker (not yet connected); see the module comment. */
export class FileBroker extends VirtualBroker {
  /** Paths of the broker directory (tests and tools look inside). */
  readonly layout: Layout;

  constructor(url: string, options: FileDriverOptions = {}) {
    const driver = new FileDriver(url, options);
    super(driver, { logger: options.logger });
    this.layout = driver.layout;
  }
}
