/**
 * A real Kafka-protocol broker for tests: librdkafka's mock cluster (Debian
 * `librdkafka-dev`, `rdkafka_mock.h`) wrapped by `kafka-mock/mock-broker.c`
 * and driven as a child process over a one-line-per-command protocol.
 *
 * ## What works with kafkajs 2.2.4 against librdkafka 2.0.2's mock
 * (found by `test/integration/kafka-broker.test.ts`, which asserts each claim)
 *
 * Negotiated API versions (mock max / kafkajs max -> used):
 *   Produce 7/7, Fetch 11/11, ListOffsets 5/3 -> 3, Metadata 2/6 -> 2,
 *   OffsetCommit 7/5 -> 5, OffsetFetch 5/4 -> 4, FindCoordinator 2/2,
 *   JoinGroup 5/5, Heartbeat 3/3, LeaveGroup 1/3 -> 1, SyncGroup 3/3,
 *   ApiVersions 2/2, InitProducerId 4/1 -> 1, plus the transaction APIs.
 *   NOT served by the mock: CreateTopics, DeleteTopics, CreatePartitions,
 *   DescribeGroups, ListGroups, DeleteRecords, DescribeConfigs, ACLs. So
 *   kafkajs `admin.createTopics`, `describeGroups`, `listGroups` fail; create
 *   topics with {@link KafkaBroker.createTopic} (or let the producer
 *   auto-create them, see below). `admin.fetchTopicMetadata`,
 *   `admin.fetchTopicOffsets` (ListOffsets) and `admin.fetchOffsets`
 *   (OffsetFetch) work.
 *
 * Works:
 * - Plain producer (acks -1/1), keys, the default partitioner; ~2,000 small
 *   messages produce in well under a second.
 * - Consumer groups: join, sync, heartbeat, leave, rebalance between two
 *   members (range assigner splits the partitions), `eachBatch` with
 *   `autoCommit: false` and explicit `commitOffsets` / `resolveOffset` +
 *   `commitOffsetsIfNecessary`; committed offsets survive consumer restarts
 *   (they live in the mock process until it exits).
 * - Broker down/up: a down mock broker refuses connections (kafkajs logs
 *   ECONNREFUSED). Fetches from the other brokers keep flowing; a 2-3 s outage
 *   of a partition leader or of the group coordinator is bridged by kafkajs
 *   retries with no crash, no rebalance and no redelivery. `producer.send` is
 *   all-or-nothing: one call that touches a down leader's partition blocks
 *   (retrying) until that broker is back, even for its healthy partitions.
 * - Injected errors (push-errors): a retriable OffsetCommit error
 *   (REQUEST_TIMED_OUT) is retried inside `consumer.commitOffsets()` and never
 *   reaches eachBatch. A stale-metadata Fetch error (NOT_LEADER_FOR_PARTITION,
 *   UNKNOWN_TOPIC_OR_PARTITION, ...) makes kafkajs refresh metadata and REJOIN
 *   the group (consumerGroup.recoverFromFetch), so each one costs a rebalance.
 *
 * Does NOT work / differs from a real broker:
 * - Metadata is capped at v2, which has no `allowAutoTopicCreation` flag: the
 *   mock auto-creates ANY topic that a client asks about, with 4 partitions,
 *   even with `allowAutoTopicCreation: false`. Create topics explicitly first
 *   if the partition count matters.
 * - The mock reports controller id 0, which is no broker (ids are 1..N). Every
 *   kafkajs call that goes to the controller fails with
 *   `KafkaJSBrokerNotFound: Broker 0 not found in the cached metadata`:
 *   `producer({ idempotent: true })` and transactional producers (InitProducerId
 *   is sent to the controller) and `admin.createTopics`.
 * - Each partition keeps only ~5 MiB of record batches (and at most 100,000
 *   batches); older batches are dropped from the front. This is hard-coded in
 *   librdkafka (`rdkafka_mock.c`, `max_size = 5 MiB`) and not settable through
 *   `rdkafka_mock.h`. A consumer whose position fell behind the log start gets
 *   OFFSET_OUT_OF_RANGE and kafkajs silently resets to earliest/latest (it
 *   only logs at ERROR level): a gap the consumer must detect itself.
 * - The first join of an empty group is held ~3 s (the mock's fixed
 *   group.initial.rebalance.delay); a rebalance of a non-empty group is held
 *   for `sessionTimeout - 1000` ms (the mock waits that long for the old
 *   members to rejoin), so keep `sessionTimeout` small in tests.
 *
 * kafkajs settings that keep tests fast and deterministic (as used by the
 * integration test; each of its subtests takes ~3.5-7 s):
 * - consumer `sessionTimeout: 3000`, `rebalanceTimeout: 3000`,
 *   `heartbeatInterval: 300` (members learn about a rebalance only through a
 *   heartbeat; the mock enforces no minimum session timeout),
 *   `maxWaitTimeInMs: 100` (the default 5000 makes `consumer.disconnect()`
 *   wait ~5 s for the in-flight Fetch).
 * - client `connectionTimeout: 1000`, `requestTimeout: 5000`,
 *   `retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 10 }` so
 *   broker outages of a few seconds are bridged without long backoffs.
 * - Committed offsets: poll `admin.fetchOffsets` briefly before asserting;
 *   the commit of the last batch may still be in flight when the last record
 *   has been seen.
 * - `logLevel: logLevel.NOTHING` (or WARN) unless debugging; set
 *   `KAFKAJS_NO_PARTITIONER_WARNING=1` to silence the v2 partitioner notice.
 * - Set `MOCK_BROKER_DEBUG=mock,protocol` in the environment to make the
 *   mock print librdkafka's debug log to stderr (shown by the test runner).
 *
 * @module
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const sourcePath = join(here, 'kafka-mock', 'mock-broker.c');
const binDir = join(here, 'bin');
const binaryPath = join(binDir, 'mock-broker');
const lockPath = join(binDir, '.mock-broker.lock');

/** How long a compile lock may be held before another process takes it over. */
const STALE_LOCK_MS = 120_000;
/** Upper bound for one compile; cc on this file takes well under 2 s. */
const COMPILE_TIMEOUT_MS = 60_000;
/** Time the child gets to print its bootstrap line. */
const START_TIMEOUT_MS = 10_000;
/** Time a single command gets to be answered. */
const COMMAND_TIMEOUT_MS = 10_000;

/** Kafka API keys, for {@link KafkaBroker.pushErrors}. */
export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  ApiVersions: 18,
  InitProducerId: 22,
} as const;

/** Kafka protocol error codes that are useful to inject. */
export const KafkaErrorCode = {
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_FOR_PARTITION: 6,
  REQUEST_TIMED_OUT: 7,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  ILLEGAL_GENERATION: 22,
  UNKNOWN_MEMBER_ID: 25,
  REBALANCE_IN_PROGRESS: 27,
} as const;

/** A running mock cluster. All methods reject with the mock's reason on `ERR`. */
export interface KafkaBroker {
  /** `host:port` of every broker (ids 1..N in this order), all on 127.0.0.1. */
  readonly bootstrap: string[];
  /** Creates a topic; replication defaults to the broker count. */
  createTopic(name: string, partitions: number, replication?: number): Promise<void>;
  /** Makes broker `id` (1-based) drop its connections and refuse new ones. */
  brokerDown(id: number): Promise<void>;
  /** Undoes {@link KafkaBroker.brokerDown}. */
  brokerUp(id: number): Promise<void>;
  /** The next `count` requests of `apiKey` (to any broker) fail with `errCode`. */
  pushErrors(apiKey: number, count: number, errCode: number): Promise<void>;
  /** Drops errors still queued by {@link KafkaBroker.pushErrors} for `apiKey`. */
  clearErrors(apiKey: number): Promise<void>;
  /**
   * Pins a partition's leader (the mock picks a random replica otherwise).
   * Caution: like any request naming an unknown topic, this auto-creates it.
   */
  setLeader(topic: string, partition: number, brokerId: number): Promise<void>;
  /** Makes broker `brokerId` the coordinator of consumer group `groupId`. */
  setGroupCoordinator(groupId: string, brokerId: number): Promise<void>;
  /** Delays every response of broker `brokerId` by `ms`. */
  setRtt(brokerId: number, ms: number): Promise<void>;
  /** Stops the broker process; idempotent, resolves once it has exited. */
  stop(): Promise<void>;
}

/** Options for {@link startKafkaBroker}. */
export interface StartKafkaBrokerOptions {
  /** Number of brokers, 1..16 (default 1). */
  brokers?: number;
  /** Topics created before the promise resolves. */
  topics?: { name: string; partitions: number }[];
}

type Availability = { ok: true } | { ok: false; why: string };

let availability: Availability | undefined;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function isFresh(): boolean {
  return existsSync(binaryPath) && statSync(binaryPath).mtimeMs >= statSync(sourcePath).mtimeMs;
}

function compilerFlags(): string[] {
  try {
    const out = execFileSync('pkg-config', ['--cflags', '--libs', 'rdkafka'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const flags = out.trim().split(/\s+/).filter(Boolean);
    if (flags.length > 0) return flags;
  } catch {
    // pkg-config or rdkafka.pc missing: the plain library name is what Debian needs anyway.
  }
  return ['-lrdkafka'];
}

function compile(): void {
  // Compile to a private name and rename: a reader never sees a half-written binary,
  // even if the lock below was taken over as stale.
  const tmp = `${binaryPath}.${process.pid}.tmp`;
  try {
    execFileSync('cc', ['-O1', '-std=c11', '-Wall', '-o', tmp, sourcePath, ...compilerFlags()], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: COMPILE_TIMEOUT_MS,
    });
    renameSync(tmp, binaryPath);
  } catch (err) {
    rmSync(tmp, { force: true });
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new Error('no C compiler: `cc` is not on PATH (apt-get install gcc)');
    const detail = (e.stderr ?? e.message).trim().split('\n').slice(0, 8).join('\n');
    const hint = /rdkafka(_mock)?\.h/.test(detail) || /-lrdkafka/.test(detail)
      ? ' (apt-get install librdkafka-dev)'
      : '';
    throw new Error(`compiling ${sourcePath} failed${hint}:\n${detail}`);
  }
}

/**
 * Builds the mock-broker binary if it is missing or older than its source.
 * tap runs test files in parallel processes, so a directory lock (mkdir is
 * atomic) makes one of them compile while the others wait.
 */
function ensureBinary(): void {
  if (isFresh()) return;
  mkdirSync(binDir, { recursive: true });
  const deadline = Date.now() + COMPILE_TIMEOUT_MS + 10_000;
  for (;;) {
    try {
      mkdirSync(lockPath);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (isFresh()) return;
      try {
        if (Date.now() - statSync(lockPath).mtimeMs > STALE_LOCK_MS) rmSync(lockPath, { recursive: true, force: true });
      } catch {
        // The holder released it between our checks; just retry.
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the compile lock ${lockPath}`);
      sleepSync(100);
    }
  }
  try {
    if (!isFresh()) compile();
  } finally {
    rmSync(lockPath, { recursive: true, force: true });
  }
}

/**
 * Whether the mock broker can be built and run here (cached per process):
 * compiles it if needed, then starts it once with stdin closed and checks
 * that it prints its bootstrap line. `why` says what to install if not.
 */
export function kafkaAvailable(): Availability {
  if (availability) return availability;
  try {
    ensureBinary();
    const out = execFileSync(binaryPath, ['1'], { input: '', encoding: 'utf8', timeout: START_TIMEOUT_MS });
    availability = out.startsWith('BOOTSTRAP ')
      ? { ok: true }
      : { ok: false, why: `mock broker smoke run printed no BOOTSTRAP line: ${JSON.stringify(out.slice(0, 200))}` };
  } catch (err) {
    availability = { ok: false, why: err instanceof Error ? err.message : String(err) };
  }
  return availability;
}

/** The slice of a tap `Test` that {@link requireKafka} needs. */
export interface SkipOrFail {
  fail(message: string): unknown;
  plan(count: number, comment?: string): unknown;
}

/**
 * Applies the project's policy for a missing Kafka broker and returns whether
 * the test can go on: under `CI=true` the missing broker is a test FAILURE;
 * on a developer machine the test is skipped with a loud banner on stderr
 * saying what to install. Never a silent skip. Call it once at the top of a
 * test file with the root `t` and add the Kafka subtests only if it returns
 * true (on a skip it has planned zero tests).
 */
export function requireKafka(t: SkipOrFail): boolean {
  const a = kafkaAvailable();
  if (a.ok) return true;
  const msg = `Kafka mock broker unavailable: ${a.why}`;
  if (process.env.CI === 'true') {
    t.fail(`${msg} (CI=true: a missing broker is a failure, install librdkafka-dev and a C compiler)`);
  } else {
    const bar = '!'.repeat(78);
    process.stderr.write(`\n${bar}\n!!! SKIPPING KAFKA INTEGRATION TESTS\n!!! ${msg}\n!!! Fix: apt-get install -y librdkafka-dev gcc pkg-config\n${bar}\n\n`);
    // `1..0 # SKIP why`: the runner reports the file as skipped, with the reason.
    t.plan(0, msg);
  }
  return false;
}

/**
 * Starts a mock cluster and resolves once it listens (and the requested topics
 * exist). The caller must `stop()` it (e.g. in `t.teardown`); as a safety net
 * the child also exits when this process exits, because its stdin closes.
 */
export async function startKafkaBroker(opts: StartKafkaBrokerOptions = {}): Promise<KafkaBroker> {
  const brokers = opts.brokers ?? 1;
  if (!Number.isInteger(brokers) || brokers < 1 || brokers > 16) {
    throw new RangeError(`brokers must be an integer in 1..16, got ${brokers}`);
  }
  const a = kafkaAvailable();
  if (!a.ok) throw new Error(`Kafka mock broker unavailable: ${a.why}`);

  const child: ChildProcessWithoutNullStreams = spawn(binaryPath, [String(brokers)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderrTail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    // Pass the mock's log through (debug mode) and keep a tail for error messages.
    process.stderr.write(chunk);
    stderrTail = (stderrTail + chunk).slice(-4000);
  });
  // EPIPE after the child died is reported through the exit path below.
  child.stdin.on('error', () => {});

  type Waiter = { resolve: (line: string) => void; reject: (err: Error) => void };
  const waiters: Waiter[] = [];
  let exited: Error | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = new Error(
        `mock broker exited (code ${code}, signal ${signal})${stderrTail ? `; stderr: ${stderrTail.trim()}` : ''}`,
      );
      for (const w of waiters.splice(0)) w.reject(exited);
      resolve();
    });
  });
  child.once('error', (err) => {
    exited = new Error(`mock broker failed to run: ${err.message}`);
    for (const w of waiters.splice(0)) w.reject(exited);
  });
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  createInterface({ input: child.stdout }).on('line', (line) => {
    const w = waiters.shift();
    if (w) w.resolve(line);
    else process.stderr.write(`mock broker: unexpected output line: ${line}\n`);
  });

  const nextLine = (what: string, timeoutMs: number): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      if (exited) return reject(exited);
      const timer = setTimeout(() => {
        const i = waiters.indexOf(waiter);
        if (i >= 0) waiters.splice(i, 1);
        reject(new Error(`mock broker did not answer ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        resolve: (l) => { clearTimeout(timer); resolve(l); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
      waiters.push(waiter);
    });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      // EOF is the polite stop; SIGTERM and then SIGKILL if it does not go.
      child.stdin.end();
      const t1 = setTimeout(() => child.kill('SIGTERM'), 3000);
      const t2 = setTimeout(() => child.kill('SIGKILL'), 6000);
      await exitPromise;
      clearTimeout(t1);
      clearTimeout(t2);
      process.removeListener('exit', killOnExit);
    }
    await exitPromise;
  };

  // Commands are answered strictly in order, so a FIFO of waiters pairs them.
  const command = async (line: string): Promise<void> => {
    if (stopped) throw new Error(`mock broker already stopped; cannot run '${line}'`);
    if (/[\r\n]/.test(line)) throw new Error(`command must be one line: ${JSON.stringify(line)}`);
    const answer = nextLine(`'${line}'`, COMMAND_TIMEOUT_MS);
    child.stdin.write(`${line}\n`);
    const reply = await answer;
    if (reply !== 'OK') throw new Error(`mock broker: '${line}' -> ${reply}`);
  };

  const word = (s: string, what: string): string => {
    if (!/^[A-Za-z0-9._-]+$/.test(s)) throw new Error(`${what} must match [A-Za-z0-9._-]+, got ${JSON.stringify(s)}`);
    return s;
  };
  const int = (n: number, what: string): string => {
    if (!Number.isInteger(n)) throw new Error(`${what} must be an integer, got ${n}`);
    return String(n);
  };

  let bootstrap: string[];
  try {
    const first = await nextLine('the BOOTSTRAP line', START_TIMEOUT_MS);
    const m = /^BOOTSTRAP (\S+)$/.exec(first);
    if (!m?.[1]) throw new Error(`mock broker printed ${JSON.stringify(first)} instead of BOOTSTRAP`);
    bootstrap = m[1].split(',');
  } catch (err) {
    await stop();
    throw err;
  }

  const broker: KafkaBroker = {
    bootstrap,
    createTopic: (name, partitions, replication) =>
      command(
        `create-topic ${word(name, 'topic')} ${int(partitions, 'partitions')}` +
          (replication === undefined ? '' : ` ${int(replication, 'replication')}`),
      ),
    brokerDown: (id) => command(`broker-down ${int(id, 'broker id')}`),
    brokerUp: (id) => command(`broker-up ${int(id, 'broker id')}`),
    pushErrors: (apiKey, count, errCode) =>
      command(`push-errors ${int(apiKey, 'apiKey')} ${int(count, 'count')} ${int(errCode, 'errCode')}`),
    clearErrors: (apiKey) => command(`clear-errors ${int(apiKey, 'apiKey')}`),
    setLeader: (topic, partition, brokerId) =>
      command(`set-leader ${word(topic, 'topic')} ${int(partition, 'partition')} ${int(brokerId, 'broker id')}`),
    setGroupCoordinator: (groupId, brokerId) =>
      command(`set-coordinator group ${word(groupId, 'group id')} ${int(brokerId, 'broker id')}`),
    setRtt: (brokerId, ms) => command(`set-rtt ${int(brokerId, 'broker id')} ${int(ms, 'rtt ms')}`),
    stop,
  };

  try {
    for (const topic of opts.topics ?? []) await broker.createTopic(topic.name, topic.partitions);
  } catch (err) {
    await stop();
    throw err;
  }
  return broker;
}
