/**
 * celeryts public API.
 *
 *   import { task, Task, createApp, defineConfig } from 'celeryts';
 */
import { setDefaultAppFactory } from './core/app-port.js';
import { createApp } from './app.js';

export { task, Task, createdTasks, type TaskOptions, type TaskClass, type TaskOf, type ExceptionDetails } from './core/task.js';
export { Signature, type SignatureJSON } from './core/signature.js';
export { chain, chord, group, Chain, Chord, Group, GroupResult } from './core/canvas.js';
export { Retry, MaxRetriesExceededError, type RetryOptions } from './core/retry.js';
export type { Request } from './core/request.js';
export type { AsyncResult } from './core/result.js';
export type { SendOptions } from './core/send-options.js';
export { States, READY_STATES, type TaskState } from './core/states.js';
export * from './core/errors.js';
export type { Broker, Delivery, QueueOptions, OutgoingMessage, Headers, HeaderValue, MessageProperties, PublishOptions } from './core/broker.js';
export { encodeTask, decodeTask, decodeTaskHeaders, type TaskMessage } from './core/wire/task.js';
export { decodeTaskBody } from './core/wire/json-body.js';
export { encodeResult, decodeResult } from './core/wire/result.js';
export { App, createApp, type CreateAppOptions } from './app.js';
export { defineConfig, type UserConfig, type Config } from './config/schema.js';
export { loadConfig } from './config/load-config.js';
export { Worker, type WorkerOptions } from './worker/worker.js';
export { expandNodeName } from './worker/node-name.js';
export { createBroker } from './transport/create-broker.js';
export { every, crontab, once, type ScheduleSpec, type IntervalSpec, type CrontabSpec, type CrontabFields, type OnceSpec } from './beat/schedule/spec.js';
export type { CronField } from './beat/schedule/cron-fields.js';
export type { BeatEntry, BeatSendOptions } from './beat/entry.js';
export type { BeatListing } from './beat/listing.js';
export { BeatControl } from './beat/beat-control.js';
export { BeatService, type BeatServiceOptions } from './beat/beat-service.js';
export { tickId, tickTime } from './beat/tick-id.js';
export { Dashboard, type DashboardOptions } from './dashboard/dashboard.js';

// task.delay() outside a worker, with no createApp() call, uses an app built from the config file and env.
setDefaultAppFactory(() => createApp());
