/**
 * Canvas: chain and group, in Celery's wire form so Python and celeryts workers run each
 * other's. A chain is sent as its first task with the rest in `embed.chain`, reversed (the
 * next task last); every step carries its task id and the caller's reply_to in its options,
 * so the caller can wait for the last step. A group sends each member with the group id.
 */
import { randomUUID } from 'node:crypto';
import { currentApp } from './app-port.js';
import type { AsyncResult } from './result.js';
import type { SendOptions } from './send-options.js';
import { sendOptionsFromSignature, type Signature, type SignatureJSON } from './signature.js';

type ResultOf<S> = S extends Signature<infer R, any> ? R : unknown;
type ParamsOf<S> = S extends Signature<any, infer P> ? P : unknown[];
/** A step can take the previous result when its open parameters start with that type (or take anything). */
type Accepts<P extends unknown[], R> = unknown extends R ? true : [R] extends P ? true : false;
/** What a chain step that cannot take the previous result is checked against: the compiler names it in its error. */
interface ChainStepError<Prev> {
  'this chain step cannot take the previous step result as its first argument': Prev;
}
/** The steps as given, with each one that cannot take its predecessor's result replaced by a ChainStepError. */
type CheckChain<S extends readonly unknown[], Prev = never, Out extends unknown[] = []> = S extends readonly [infer H, ...infer T]
  ? CheckChain<T, ResultOf<H>, [...Out, [Prev] extends [never] ? H : Accepts<ParamsOf<H>, Prev> extends true ? H : ChainStepError<Prev>]>
  : Out;
type Last<T extends readonly unknown[]> = T extends readonly [...unknown[], infer L] ? L : unknown;

/** Tasks run one after another, each receiving the previous result (unless immutable). */
export class Chain<R = unknown> {
  constructor(readonly steps: readonly Signature<any>[]) {
    if (steps.length === 0) throw new TypeError('chain() needs at least one signature');
  }

  /** Send the chain; resolves to the AsyncResult of the last step. */
  async applyAsync(args: unknown[] = [], options: SendOptions = {}): Promise<AsyncResult<R>> {
    const app = await currentApp();
    const replyTo = await app.replyTo();
    const jsons: SignatureJSON[] = await Promise.all(this.steps.map((s) => s.resolve()));
    const ids = jsons.map(() => randomUUID());
    const steps = jsons.map((j, i) => ({
      ...j,
      options: { ...j.options, task_id: ids[i], ...(replyTo ? { reply_to: replyTo } : {}) },
    }));
    const lastId = ids[ids.length - 1]!;
    const last = await app.track<R>(lastId);
    const [first, ...rest] = steps;
    const firstArgs = first!.immutable ? first!.args : [...args, ...first!.args];
    await app.sendTask(first!.task, firstArgs, first!.kwargs, {
      ...sendOptionsFromSignature(first!.options),
      ...options,
      taskId: ids[0]!,
      ...(rest.length ? { chain: rest.reverse() } : {}),
    });
    return last;
  }

  /** Send with leading args for the first step. */
  delay(...args: unknown[]): Promise<AsyncResult<R>> {
    return this.applyAsync(args);
  }
}

/** The results of a group, in member order. */
export class GroupResult<R extends unknown[] = unknown[]> {
  constructor(
    readonly id: string,
    readonly results: AsyncResult<unknown>[],
  ) {}

  /** Wait for every member; rejects with the first failure. */
  async get(options: { timeout?: number } = {}): Promise<R> {
    return (await Promise.all(this.results.map((r) => r.get(options)))) as R;
  }

  /** True when every member is ready. */
  ready(): boolean {
    return this.results.every((r) => r.ready());
  }

  /** Store the member ids under the group id (Celery's GroupResult.save()), so any process can restore it with `app.groupResult(id)`. */
  async save(): Promise<void> {
    const app = await currentApp();
    await app.saveGroup(
      this.id,
      this.results.map((r) => r.id),
    );
  }
}

/**
 * A group whose results, once all are in, feed one callback (the body), as a list in header
 * order. The header tasks carry the body in their message (`embed.chord`) and the group id; the
 * result backend counts them as they finish and the worker that finishes the last one sends the
 * body, exactly once. A failed header task fails the body with ChordError. Needs a backend that
 * joins chords (redis://); rpc:// and none refuse a chord when it is sent, as Celery does.
 */
export class Chord<R = unknown> {
  constructor(
    readonly header: readonly Signature<any>[],
    readonly body: Signature<R, any>,
  ) {
    if (header.length === 0) throw new TypeError('chord() needs at least one header signature');
  }

  /** Send the header; resolves to the AsyncResult of the body. */
  async applyAsync(args: unknown[] = [], options: SendOptions = {}): Promise<AsyncResult<R>> {
    const app = await currentApp();
    const groupId = randomUUID();
    await app.prepareChord(groupId, this.header.length);
    const body = await this.body.resolve();
    const bodyId = typeof body.options['task_id'] === 'string' ? body.options['task_id'] : randomUUID();
    const chordBody: SignatureJSON = { ...body, options: { ...body.options, task_id: bodyId, chord_size: this.header.length } };
    const result = await app.track<R>(bodyId);
    await Promise.all(this.header.map((m, i) => m.applyAsync(args, {}, { ...options, group: groupId, groupIndex: i, chord: chordBody })));
    return result;
  }

  delay(...args: unknown[]): Promise<AsyncResult<R>> {
    return this.applyAsync(args);
  }
}

/** Tasks run in parallel; the caller collects every result. */
export class Group<R extends unknown[] = unknown[]> {
  constructor(readonly members: readonly Signature<any>[]) {}

  /** Send every member with the group id; resolves to a GroupResult. */
  async applyAsync(args: unknown[] = [], options: SendOptions = {}): Promise<GroupResult<R>> {
    const groupId = randomUUID();
    const results = await Promise.all(this.members.map((m, i) => m.applyAsync(args, {}, { ...options, group: groupId, groupIndex: i })));
    return new GroupResult<R>(groupId, results);
  }

  delay(...args: unknown[]): Promise<GroupResult<R>> {
    return this.applyAsync(args);
  }
}

/**
 * chain(a.s(1), b.s(), c.s()): typed by the last step's result. Each step after the first gets
 * the previous result as its first argument, so it must take that type there (or be immutable,
 * `si()`); a step that cannot does not compile.
 */
export function chain<S extends readonly Signature<any, any>[]>(...steps: S & CheckChain<S>): Chain<ResultOf<Last<S>>> {
  return new Chain(steps);
}

/** chord([add.s(1, 1), add.s(2, 2)], xsum.s()): the body gets the header's results as a list; typed by the body's result. */
export function chord<R>(header: readonly Signature<any, any>[], body: Signature<R, any>): Chord<R> {
  return new Chord<R>(header, body);
}

/** group(a.s(1), a.s(2)): typed by each member's result. */
export function group<S extends readonly Signature<any, any>[]>(...members: S): Group<{ [K in keyof S]: ResultOf<S[K]> } & unknown[]> {
  return new Group(members);
}
