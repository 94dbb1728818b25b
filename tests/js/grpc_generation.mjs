// @grpc/grpc-js against the gateway's tern.v1.Generation front, serving the
// e2e fixture model.
//
//   node grpc_generation.mjs ADDRESS GOLDENS_JSON [API_KEY]
//
// Prints "ok <check>" or "FAIL <check>: <why>" per check; exits 1 if any
// check failed.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const [address, goldensPath, apiKey] = process.argv.slice(2);
const goldens = JSON.parse(fs.readFileSync(goldensPath, "utf8"));
const protoDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../proto");
const definition = protoLoader.loadSync(
  [path.join(protoDir, "tern/v1/generation.proto"), path.join(protoDir, "grpc/health/v1/health.proto")],
  { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [protoDir] },
);
const loaded = grpc.loadPackageDefinition(definition);
const client = new loaded.tern.v1.Generation(address, grpc.credentials.createInsecure());
const health = new loaded.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
let failures = 0;

function metadata(key = apiKey) {
  const m = new grpc.Metadata();
  if (key !== undefined) m.set("authorization", `Bearer ${key}`);
  return m;
}

async function check(name, fn) {
  try {
    await fn();
    console.log(`ok ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e?.stack ?? e}`);
  }
}

function expectEqual(actual, expected, what) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: got ${JSON.stringify(actual)}, want ${JSON.stringify(expected)}`);
  }
}

// Collects a server stream: per-choice text and finish, the usage, or the error.
function collect(call) {
  return new Promise((resolve) => {
    const texts = {}, finishes = {}, stops = {};
    let usage = null, chunks = 0, id = null;
    call.on("data", (chunk) => {
      chunks++;
      id = chunk.id;
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        texts[c.index] = (texts[c.index] ?? "") + c.text;
        if (c.finish_reason) finishes[c.index] = c.finish_reason;
        if (c.stop_reason) stops[c.index] = c[c.stop_reason];
      }
    });
    call.on("error", (error) => resolve({ error }));
    call.on("end", () => resolve({ texts, finishes, stops, usage, chunks, id }));
  });
}

function unary(method, request, md = metadata()) {
  return new Promise((resolve) => client[method](request, md, (error, response) => resolve({ error, response })));
}

const model = goldens.model;
const chatCase = goldens.cases.find((c) => c.kind === "chat");
const completionCase = goldens.cases.find((c) => c.kind === "completion");
const greedy = { max_tokens: goldens.max_tokens, temperature: 0 };

await check("health", async () => {
  const status = await new Promise((resolve, reject) =>
    health.Check({ service: "tern.v1.Generation" }, (e, r) => (e ? reject(e) : resolve(r.status))));
  expectEqual(status, "SERVING", "health");
});

await check("Models", async () => {
  const { error, response } = await unary("Models", {});
  if (error) throw error;
  expectEqual(response.names, [model], "names");
});

await check("Chat reproduces the golden", async () => {
  const r = await collect(client.Chat({ model, messages: chatCase.messages, options: greedy }, metadata()));
  if (r.error) throw r.error;
  expectEqual([r.texts[0], r.finishes[0]], [chatCase.output_text, chatCase.finish_reason], "chat");
  expectEqual(r.usage.prompt_tokens, chatCase.prompt_ids.length, "prompt_tokens");
  expectEqual(r.usage.completion_tokens, chatCase.output_ids.length, "completion_tokens");
  if (!r.id.startsWith("chatcmpl-")) throw new Error(`id ${r.id}`);
});

await check("Complete reproduces the golden", async () => {
  const r = await collect(client.Complete({ model, prompts: [{ text: completionCase.prompt }], options: greedy }, metadata()));
  if (r.error) throw r.error;
  expectEqual([r.texts[0], r.finishes[0]], [completionCase.output_text, completionCase.finish_reason], "completion");
});

await check("Complete with two prompts and n=2", async () => {
  const r = await collect(client.Complete({
    prompts: [{ text: "Hello" }, { token_ids: { ids: completionCase.prompt_ids } }],
    options: { max_tokens: 3, n: 2, seed: 5, logprobs: 1 },
  }, metadata()));
  if (r.error) throw r.error;
  expectEqual(Object.keys(r.finishes).sort(), ["0", "1", "2", "3"], "choices");
  expectEqual(r.usage.completion_tokens, 12, "completion_tokens");
});

await check("stop string", async () => {
  const full = chatCase.output_text;
  const stop = full.slice(10, 14);
  const r = await collect(client.Chat({ model, messages: chatCase.messages, options: { ...greedy, stop: [stop] } }, metadata()));
  if (r.error) throw r.error;
  expectEqual([r.texts[0], r.finishes[0], r.stops[0]], [full.slice(0, full.indexOf(stop)), "stop", stop], "stop");
});

await check("Tokenize", async () => {
  const { error, response } = await unary("Tokenize", { chat: { messages: chatCase.messages, add_generation_prompt: true } });
  if (error) throw error;
  expectEqual(response.token_ids, chatCase.prompt_ids, "chat ids");
  const text = await unary("Tokenize", { text: completionCase.prompt });
  expectEqual(text.response.token_ids, completionCase.prompt_ids, "text ids");
});

await check("errors carry gRPC codes", async () => {
  let r = await collect(client.Complete({ prompts: [{ text: "x" }], options: { temperature: -1 } }, metadata()));
  expectEqual(r.error?.code, grpc.status.INVALID_ARGUMENT, "bad temperature");
  if (!/temperature/.test(r.error.details)) throw new Error(r.error.details);
  r = await collect(client.Complete({ model: "no-such-model", prompts: [{ text: "x" }] }, metadata()));
  expectEqual(r.error?.code, grpc.status.NOT_FOUND, "unknown model");
  r = await collect(client.Chat({ messages: [] }, metadata()));
  expectEqual(r.error?.code, grpc.status.INVALID_ARGUMENT, "no messages");
  r = await collect(client.Chat({ messages: [{ role: "user", content: "x" }], tools_json: "{nope" }, metadata()));
  expectEqual(r.error?.code, grpc.status.INVALID_ARGUMENT, "bad tools_json");
  r = await collect(client.Complete({ prompts: [{ text: "x" }], options: { max_tokens: 100000000 } }, metadata()));
  expectEqual(r.error?.code, grpc.status.INVALID_ARGUMENT, "over the context");
});

if (apiKey !== undefined) {
  await check("API key required", async () => {
    const r = await collect(client.Complete({ prompts: [{ text: "x" }] }, metadata(apiKey + "x")));
    expectEqual(r.error?.code, grpc.status.UNAUTHENTICATED, "wrong key");
    const none = await unary("Models", {}, new grpc.Metadata());
    expectEqual(none.error?.code, grpc.status.UNAUTHENTICATED, "no key");
  });
}

client.close();
health.close();
process.exit(failures === 0 ? 0 : 1);
