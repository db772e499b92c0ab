/**
 * One AMQP connection and the channels the adapter opens on it. A session never reconnects:
 * when its connection dies it reports the loss once and is thrown away; the broker opens the
 * next session (with the next generation number), so nothing from a dead connection (channel,
 * delivery tag, unconfirmed publish) can be mistaken for something on the live one.
 */
import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { AmqpLogger } from './options.js';

/**
 * The connection's socket and heartbeat timers stop keeping the event loop alive. amqplib exposes
 * neither, so this reaches into its connection; a missing field just leaves the process held.
 */
function unrefConnection(model: ChannelModel): void {
  type Timer = { unref?: () => void } | undefined;
  const conn = (model as unknown as { connection?: { stream?: { unref?: () => void }; heartbeater?: { sendTimer?: Timer; recvTimer?: Timer } } }).connection;
  conn?.stream?.unref?.();
  conn?.heartbeater?.sendTimer?.unref?.();
  conn?.heartbeater?.recvTimer?.unref?.();
}

/** Called once when the connection goes away without `close()` having been called. */
export type SessionLostHandler = (err: Error | undefined) => void;

/** One connection, its admin channel, and the single report of its loss. */
export class AmqpSession {
  /** Increases with every connection the broker opens. */
  readonly generation: number;
  readonly #model: ChannelModel;
  readonly #logger: AmqpLogger;
  readonly #onLost: SessionLostHandler;
  #alive = true;
  #closing = false;
  #lostReported = false;
  #lastError: Error | undefined;
  /** A long-lived channel for declarations, opened on first use and again after it dies. */
  #admin: Promise<Channel> | undefined;

  /** Open a connection. `url` and `socketOptions` are amqplib's; errors are amqplib's too. */
  static async open(url: string, socketOptions: amqp.SocketOptions, generation: number, logger: AmqpLogger, onLost: SessionLostHandler): Promise<AmqpSession> {
    const model = await amqp.connect(url, socketOptions);
    return new AmqpSession(model, generation, logger, onLost);
  }

  private constructor(model: ChannelModel, generation: number, logger: AmqpLogger, onLost: SessionLostHandler) {
    this.#model = model;
    this.generation = generation;
    this.#logger = logger;
    this.#onLost = onLost;
    // An 'error' event without a listener would throw out of amqplib's socket handler and
    // crash the process; the 'close' that always follows is what we act on.
    model.on('error', (err: Error) => {
      this.#lastError = err;
    });
    model.on('close', (err?: Error) => this.#lose(err ?? this.#lastError));
    model.on('blocked', (reason: string) => this.#logger.warn({ reason, generation }, 'the broker blocked publishing on this connection (resource alarm)'));
    model.on('unblocked', () => this.#logger.debug({ generation }, 'the broker unblocked this connection'));
  }

  /**
   * Let the process end while this connection is idle (the broker adapter's connections; its
   * pending work holds the process instead, see transport/holding-broker.ts).
   */
  unref(): void {
    unrefConnection(this.#model);
  }

  /** False once the connection is closed or lost. */
  get alive(): boolean {
    return this.#alive;
  }

  /** A plain channel; the caller owns it and must listen for its 'error' and 'close'. */
  openChannel(): Promise<Channel> {
    return this.#model.createChannel();
  }

  /** A channel in confirm mode, for publishing. */
  openConfirmChannel(): Promise<ConfirmChannel> {
    return this.#model.createConfirmChannel();
  }

  /**
   * Run a declaration on the shared admin channel. Declarations go there, not on the publish
   * or consumer channels, because a refused declaration closes the channel it ran on, and
   * that must not cost unconfirmed publishes or in-flight deliveries.
   */
  async admin<T>(op: (channel: Channel) => Promise<T>): Promise<T> {
    return op(await this.#adminChannel());
  }

  /**
   * Run `op` on a channel of its own, closed afterwards. For operations expected to fail in
   * normal use (a passive declare of a missing queue answers 404 by closing the channel).
   */
  async throwaway<T>(op: (channel: Channel) => Promise<T>): Promise<T> {
    const channel = await this.#model.createChannel();
    let open = true;
    channel.on('error', () => {}); // the failure also rejects `op`, which is where it is handled
    channel.on('close', () => {
      open = false;
    });
    try {
      return await op(channel);
    } finally {
      // Not awaited: the close handshake is a round trip nobody needs to wait for.
      if (open) channel.close().catch(() => {});
    }
  }

  /** Close the connection on purpose; no loss is reported. */
  async close(): Promise<void> {
    this.#closing = true;
    if (!this.#alive) return;
    this.#alive = false;
    await this.#model.close().catch(() => {
      // Already closed underneath us: nothing left to release.
    });
  }

  /**
   * Give up on a connection that still looks open but cannot be used (a channel could not
   * be reopened): report it lost so the broker moves to a fresh one.
   */
  abandon(err: Error): void {
    this.#lose(err);
    this.#model.close().catch(() => {});
  }

  #lose(err: Error | undefined): void {
    this.#alive = false;
    if (this.#closing || this.#lostReported) return;
    this.#lostReported = true;
    this.#onLost(err);
  }

  #adminChannel(): Promise<Channel> {
    if (!this.#admin) {
      const opening: Promise<Channel> = this.#model.createChannel().then((channel) => {
        channel.on('error', () => {}); // the failed operation's own rejection carries it
        channel.on('close', () => {
          if (this.#admin === opening) this.#admin = undefined;
        });
        return channel;
      });
      opening.catch(() => {
        if (this.#admin === opening) this.#admin = undefined;
      });
      this.#admin = opening;
    }
    return this.#admin;
  }
}
