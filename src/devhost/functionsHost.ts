// A stand-in for the Functions host + Node worker, enough to load a v4 app and invoke its
// triggers through @azure/functions' own invocation model (the code path production uses).
// The library requires the host-injected module '@azure/functions-core' lazily and caches the
// answer for the life of the process, so the stand-in must be installed before the app's first
// `app.*` call; afterwards the library is either wired to us or stuck in "test mode" for good.
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import Module from "node:module";
import * as path from "node:path";

export interface RegisteredBinding {
  type: string;
  direction: string;
  [k: string]: unknown;
}
export interface RegisteredFunction {
  name: string;
  bindings: Record<string, RegisteredBinding>;
}
export interface HostLog {
  level: string;
  category: string;
  message: string;
  functionName: string;
  invocationId: string;
}
export interface InvocationOutcome {
  status: "succeeded" | "failed";
  error?: unknown;
  logs: HostLog[];
  /** What the library hands back to the host (`getResponse`): an HTTP function's answer is in it. */
  response?: { returnValue?: unknown };
}
/** An invocation request the host has built (`LoadedFunctionApp.prepare`). */
export interface PreparedInvocation {
  readonly functionName: string;
  readonly invocationId: string;
  readonly request: Record<string, unknown>;
}
/** An HTTP request as the host hands it to the worker (RpcHttp), after it has matched the route. */
export interface HttpInvocation {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly params: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
}
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}
export interface LoadedFunctionApp {
  readonly functions: ReadonlyMap<string, RegisteredFunction>;
  /** Every log line of every invocation (and system logs outside one), in order; the latest `keepLogs`. */
  readonly logs: HostLog[];
  /** Sends the event as the host does for Event Grid: RpcTypedData `{ json: JSON.stringify(event) }`. */
  invoke(functionName: string, event: unknown): Promise<InvocationOutcome>;
  /**
   * The host's half of `invoke`, done ahead: the invocation request as the host sends it to the worker
   * (its own parse, re-serialized, with trigger metadata and an invocation id). The benchmark builds
   * these before it starts timing, since in production that work happens in the host's process.
   */
  prepare(functionName: string, event: unknown): PreparedInvocation;
  /** The worker's half: runs a prepared request (once) through the invocation model. */
  invokePrepared(prepared: PreparedInvocation): Promise<InvocationOutcome>;
  /** Sends raw RpcTypedData, e.g. `{ string: "not json" }`. */
  invokeTypedData(functionName: string, data: object): Promise<InvocationOutcome>;
  /** Invokes an HTTP function; a failed invocation is what the host answers with a 500. */
  invokeHttp(functionName: string, request: HttpInvocation): Promise<InvocationOutcome & { answer?: HttpAnswer }>;
}

// ---- the slice of the '@azure/functions-core' contract we use (types-core/index.d.ts) ----
type FunctionCallback = (...args: unknown[]) => unknown;
type HookCallback = (context: Record<string, unknown>) => unknown;
type InvocationState = "preInvocationHooks" | "postInvocationHooks" | "invocation" | undefined;
interface CoreFunctionMetadata {
  name: string;
  functionId?: string;
  bindings: Record<string, RegisteredBinding>;
  retryOptions?: unknown;
}
interface CoreInvocationContext {
  invocationId: string;
  request: Record<string, unknown>;
  metadata: Record<string, unknown>;
  state?: InvocationState;
  log(level: string, category: string, message: string): void;
}
interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], callback: FunctionCallback): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<unknown>;
}
interface ProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreCtx: CoreInvocationContext): InvocationModel | Promise<InvocationModel>;
}

class Disposable {
  #dispose: (() => unknown) | undefined;
  constructor(callOnDispose: () => unknown) {
    this.#dispose = callOnDispose;
  }
  static from(...likes: { dispose: () => unknown }[]): Disposable {
    return new Disposable(() => likes.forEach((d) => d.dispose()));
  }
  dispose(): unknown {
    const d = this.#dispose;
    this.#dispose = undefined;
    return d?.();
  }
}

interface AppState {
  readonly root: string;
  readonly functions: Map<string, { meta: CoreFunctionMetadata; callback: FunctionCallback }>;
  readonly hooks: Map<string, HookCallback[]>;
  readonly appHookData: Record<string, unknown>;
  readonly appLevelOnlyHookData: Record<string, unknown>;
  readonly logs: HostLog[];
  readonly keepLogs: number;
  loading: boolean;
}

/** Appends a line to the app's log, dropping the oldest past its bound (in halves: amortized O(1)). */
function keepLog(app: AppState, line: HostLog): void {
  app.logs.push(line);
  if (app.logs.length >= 2 * app.keepLogs) app.logs.splice(0, app.logs.length - app.keepLogs);
}

// Process-wide, like the real worker: the library keeps one programming model per process.
let programmingModel: ProgrammingModel | undefined;
let currentApp: AppState | undefined;

function targetApp(what: string): AppState {
  if (!currentApp) throw new Error(`devhost: ${what} called before loadFunctionApp()`);
  return currentApp;
}

const coreApi = {
  version: "devhost",
  hostVersion: "4.0.0-devhost",
  Disposable,
  setProgrammingModel(model: ProgrammingModel): void {
    programmingModel = model;
  },
  getProgrammingModel(): ProgrammingModel | undefined {
    return programmingModel;
  },
  registerFunction(metadata: CoreFunctionMetadata, callback: FunctionCallback): Disposable {
    const app = targetApp("registerFunction");
    // Same rule as the worker: the host indexes functions once, at startup.
    if (!app.loading) throw new Error("A function can only be registered during app startup.");
    if (app.functions.has(metadata.name)) throw new Error(`Duplicate function name "${metadata.name}".`);
    app.functions.set(metadata.name, { meta: metadata, callback });
    return new Disposable(() => app.functions.delete(metadata.name));
  },
  registerHook(hookName: string, callback: HookCallback): Disposable {
    const list = targetApp("registerHook").hooks;
    const cbs = list.get(hookName) ?? [];
    cbs.push(callback);
    list.set(hookName, cbs);
    return new Disposable(() => {
      const i = cbs.indexOf(callback);
      if (i >= 0) cbs.splice(i, 1);
    });
  },
  log(level: string, category: string, message: string): void {
    if (currentApp) keepLog(currentApp, { level, category, message, functionName: "", invocationId: "" });
  },
};

let installed = false;
function installCoreModule(): void {
  if (installed) return;
  installed = true;
  // The real worker does exactly this (setupCoreModule.ts): intercept require() of the one id.
  const proto = Module.prototype as unknown as { require: (id: string) => unknown };
  proto.require = new Proxy(proto.require, {
    apply(target, thisArg, args: unknown[]) {
      return args[0] === "@azure/functions-core" ? coreApi : Reflect.apply(target, thisArg, args);
    },
  });
}

/** Expands package.json `main`; `*` is allowed in the last path segment only. */
function entryFiles(root: string): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { main?: unknown };
  const main = typeof pkg.main === "string" && pkg.main ? pkg.main : "index.js";
  const abs = path.resolve(root, main);
  const dir = path.dirname(abs);
  const pattern = path.basename(abs);
  if (dir.includes("*")) throw new Error(`devhost: "main" ${main}: '*' is only supported in the last segment`);
  if (!pattern.includes("*")) return [abs];
  const re = new RegExp("^" + pattern.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$");
  const files = fs.existsSync(dir)
    ? fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile() && re.test(e.name)).map((e) => path.join(dir, e.name))
    : [];
  if (files.length === 0) throw new Error(`devhost: found zero files matching "main" ${main} in ${root} (not built?)`);
  return files.sort();
}

async function runHooks(app: AppState, name: string, ctx: Record<string, unknown>): Promise<void> {
  for (const cb of [...(app.hooks.get(name) ?? [])]) await cb(ctx);
}

// Hook contexts as the worker builds them; the library wraps these objects and writes through.
function hookContext(app: AppState, hookData: Record<string, unknown>, extra: Record<string, unknown>) {
  return Object.assign(
    {
      get hookData() {
        return hookData;
      },
      get appHookData() {
        return app.appHookData;
      },
    },
    extra,
  ) as Record<string, unknown>;
}

function triggerBindingName(fn: CoreFunctionMetadata): string {
  const entry = Object.entries(fn.bindings).find(([, b]) => /trigger$/i.test(b.type) && b.direction === "in");
  if (!entry) throw new Error(`devhost: function "${fn.name}" has no trigger binding`);
  return entry[0];
}

// Approximates what the host adds: Event Grid's binding data (`data`) and the host's `sys`. The host
// builds it from its own parse, so an event given as an object is not parsed back here (the worker
// process never pays for that); the text is the same either way.
function triggerMetadata(name: string, data: object, event?: Record<string, unknown>): Record<string, object> {
  const meta: Record<string, object> = {
    sys: { json: JSON.stringify({ MethodName: name, UtcNow: new Date().toISOString(), RandGuid: randomUUID() }) },
  };
  const json = (data as { json?: unknown }).json;
  if (event) {
    const text = Object.prototype.propertyIsEnumerable.call(event, "data") ? (JSON.stringify(event["data"]) as string | undefined) : undefined;
    if (text !== undefined) meta.data = { json: text };
  } else if (typeof json === "string") {
    try {
      const parsed = JSON.parse(json) as unknown;
      if (parsed && typeof parsed === "object" && "data" in parsed) {
        meta.data = { json: JSON.stringify((parsed as { data: unknown }).data ?? null) };
      }
    } catch {
      // invalid JSON: the library will fail in getArguments, as it would with the real host
    }
  }
  return meta;
}

/** An object whose JSON text is its own enumerable properties' (no toJSON, no class): else undefined. */
function plainObject(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const proto = Object.getPrototypeOf(value) as unknown;
  const plain = (proto === Object.prototype || proto === null) && typeof (value as { toJSON?: unknown }).toJSON !== "function";
  return plain ? (value as Record<string, unknown>) : undefined;
}

function functionOf(app: AppState, name: string): { meta: CoreFunctionMetadata; callback: FunctionCallback } {
  const fn = app.functions.get(name);
  if (!fn) throw new Error(`devhost: no function "${name}" (have: ${[...app.functions.keys()].join(", ")})`);
  return fn;
}

/** What the host sends the worker for one invocation (InvocationRequest). */
function hostRequest(app: AppState, name: string, data: object, event?: Record<string, unknown>): PreparedInvocation {
  const fn = functionOf(app, name);
  const invocationId = randomUUID();
  return {
    functionName: name,
    invocationId,
    request: { invocationId, functionId: name, inputData: [{ name: triggerBindingName(fn.meta), data }], triggerMetadata: triggerMetadata(name, data, event) },
  };
}

async function invokeOne(app: AppState, started: () => Promise<void>, name: string, data: object, event?: Record<string, unknown>): Promise<InvocationOutcome> {
  return runInvocation(app, started, hostRequest(app, name, data, event));
}

async function runInvocation(app: AppState, started: () => Promise<void>, prepared: PreparedInvocation): Promise<InvocationOutcome> {
  const { functionName: name, invocationId } = prepared;
  const fn = functionOf(app, name);
  const model = programmingModel;
  if (!model) throw new Error("devhost: no programming model was set");
  await started();

  const logs: HostLog[] = [];
  const coreCtx: CoreInvocationContext = {
    invocationId,
    request: prepared.request,
    metadata: { name, functionId: name, bindings: fn.meta.bindings, retryOptions: fn.meta.retryOptions, scriptFile: "n/a" },
    state: undefined,
    log(level, category, message) {
      const line = { level, category, message, functionName: name, invocationId };
      logs.push(line);
      keepLog(app, line);
    },
  };

  // Same sequence as the worker's InvocationHandler.
  try {
    const invocModel = await model.getInvocationModel(coreCtx);
    const { context, inputs } = await invocModel.getArguments();
    const hookData: Record<string, unknown> = {};
    const pre = hookContext(app, hookData, { invocationContext: context, inputs, functionCallback: fn.callback });
    coreCtx.state = "preInvocationHooks";
    try {
      await runHooks(app, "preInvocation", pre);
    } finally {
      coreCtx.state = undefined;
    }
    const finalInputs = pre.inputs as unknown[];
    const post = hookContext(app, hookData, { invocationContext: context, inputs: finalInputs, result: null, error: null });
    coreCtx.state = "invocation";
    try {
      post.result = await invocModel.invokeFunction(context, finalInputs, pre.functionCallback as FunctionCallback);
    } catch (err) {
      post.error = err;
    } finally {
      coreCtx.state = undefined;
    }
    coreCtx.state = "postInvocationHooks";
    try {
      await runHooks(app, "postInvocation", post);
    } finally {
      coreCtx.state = undefined;
    }
    if (post.error !== null && post.error !== undefined) throw post.error;
    const response = (await invocModel.getResponse(context, post.result)) as { returnValue?: unknown };
    return { status: "succeeded", logs, response };
  } catch (error) {
    // A failed invocation is what makes the host answer 500, so Event Grid retries.
    return { status: "failed", error, logs };
  }
}

export interface LoadOptions {
  /** More files to load with the app's own, as if `main` named them too (the benchmark's bare handlers). */
  readonly extraEntryFiles?: readonly string[];
  /** How many of the latest log lines `logs` keeps (default: all); a long-running host keeps a few. */
  readonly keepLogs?: number;
}

export function loadFunctionApp(projectRoot: string, options: LoadOptions = {}): LoadedFunctionApp {
  installCoreModule();
  const root = path.resolve(projectRoot);
  const app: AppState = { root, functions: new Map(), hooks: new Map(), appHookData: {}, appLevelOnlyHookData: {}, logs: [], keepLogs: options.keepLogs ?? Infinity, loading: true };
  currentApp = app;
  const files = [...entryFiles(root), ...(options.extraEntryFiles ?? [])];
  try {
    for (const f of files) require(f);
  } finally {
    app.loading = false;
  }
  if (app.functions.size === 0) {
    throw new Error(
      `devhost: ${files.join(", ")} registered no functions. If '@azure/functions' was used (app.*, hooks) in this ` +
        "process before loadFunctionApp(), it is stuck in test mode; load the app first. " +
        "Entry files already in require.cache are not re-run either.",
    );
  }

  // The worker runs appStart hooks after loading and before the first invocation.
  let appStart: Promise<void> | undefined;
  const started = () =>
    (appStart ??= runHooks(app, "appStart", hookContext(app, app.appLevelOnlyHookData, { functionAppDirectory: root })));

  const functions = new Map<string, RegisteredFunction>();
  for (const [name, { meta }] of app.functions) functions.set(name, { name, bindings: meta.bindings });

  return {
    functions,
    logs: app.logs,
    invoke: (functionName, event) => invokeOne(app, started, functionName, { json: JSON.stringify(event) }, plainObject(event)),
    prepare: (functionName, event) => hostRequest(app, functionName, { json: JSON.stringify(event) }, plainObject(event)),
    invokePrepared: (prepared) => runInvocation(app, started, prepared),
    invokeTypedData: (functionName, data) => invokeOne(app, started, functionName, data),
    invokeHttp: async (functionName, request) => {
      const outcome = await invokeOne(app, started, functionName, { http: toRpcHttp(request) });
      const http = (outcome.response?.returnValue as { http?: RpcHttpResponse } | undefined)?.http;
      return http ? { ...outcome, answer: fromRpcHttp(http) } : outcome;
    },
  };
}

// ---- HTTP as the host passes it (RpcHttp; no HTTP streaming) ----
interface RpcHttpResponse {
  statusCode?: string;
  headers?: Record<string, string>;
  body?: { bytes?: Uint8Array; string?: string };
}

function toRpcHttp(request: HttpInvocation): Record<string, unknown> {
  const query: Record<string, string> = {};
  for (const [name, value] of new URL(request.url).searchParams) query[name] ??= value;
  return {
    method: request.method,
    url: request.url,
    headers: request.headers,
    query,
    params: request.params,
    ...(request.body && request.body.length > 0 ? { body: { bytes: request.body } } : {}),
  };
}

function fromRpcHttp(http: RpcHttpResponse): HttpAnswer {
  const body = http.body?.bytes ? Buffer.from(http.body.bytes) : Buffer.from(http.body?.string ?? "", "utf8");
  return { status: Number(http.statusCode ?? 200), headers: { ...(http.headers ?? {}) }, body };
}
