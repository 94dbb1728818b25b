// The official `openai` npm client against a Tern gateway serving the e2e
// fixture model (tests/data/e2e/qwen3-tiny).
//
//   node openai_conformance.mjs BASE_URL GOLDENS_JSON [API_KEY]
//
// Prints "ok <check>" or "FAIL <check>: <why>" per check; exits 1 if any
// check failed.
import fs from "node:fs";
import OpenAI from "openai";

const [baseUrl, goldensPath, apiKey] = process.argv.slice(2);
const goldens = JSON.parse(fs.readFileSync(goldensPath, "utf8"));
const client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: apiKey ?? "unused", maxRetries: 0, timeout: 60000 });
const model = goldens.model;
let failures = 0;

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

function expect(condition, what) {
  if (!condition) throw new Error(what);
}

async function chatText(messages, extra = {}) {
  const r = await client.chat.completions.create({ model, messages, max_tokens: goldens.max_tokens, temperature: 0, ...extra });
  return [r.choices[0].message.content, r.choices[0].finish_reason, r];
}

async function chatStreamText(messages, extra = {}) {
  const stream = await client.chat.completions.create({
    model, messages, max_tokens: goldens.max_tokens, temperature: 0, stream: true, ...extra,
  });
  let text = "", finish = null, usage = null, roles = 0;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      if (choice.delta.role) roles++;
      text += choice.delta.content ?? "";
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  return [text, finish, usage, roles];
}

async function completionText(prompt, extra = {}) {
  const r = await client.completions.create({ model, prompt, max_tokens: goldens.max_tokens, temperature: 0, ...extra });
  return [r.choices[0].text, r.choices[0].finish_reason, r];
}

async function completionStreamText(prompt, extra = {}) {
  const stream = await client.completions.create({
    model, prompt, max_tokens: goldens.max_tokens, temperature: 0, stream: true, ...extra,
  });
  let text = "", finish = null, usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      text += choice.text;
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  return [text, finish, usage];
}

await check("models.list", async () => {
  const models = [];
  for await (const m of client.models.list()) models.push(m.id);
  expect(models.includes(model), `models: ${models}`);
});

// Every e2e case, exactly, through both endpoints, streaming and not. Chat
// cases go through /v1/completions as their rendered prompt text.
for (const [i, c] of goldens.cases.entries()) {
  const want = [c.output_text, c.finish_reason];
  if (c.kind === "chat") {
    await check(`e2e case ${i} chat`, async () => {
      const [text, finish] = await chatText(c.messages);
      expectEqual([text, finish], want, "chat");
    });
    await check(`e2e case ${i} chat stream`, async () => {
      const [text, finish] = await chatStreamText(c.messages);
      expectEqual([text, finish], want, "chat stream");
    });
  }
  const prompt = c.kind === "chat" ? c.prompt_text : c.prompt;
  await check(`e2e case ${i} completion`, async () => {
    const [text, finish, r] = await completionText(prompt);
    expectEqual([text, finish], want, "completion");
    expectEqual(r.usage.prompt_tokens, c.prompt_ids.length, "prompt_tokens");
  });
  await check(`e2e case ${i} completion stream`, async () => {
    const [text, finish] = await completionStreamText(prompt);
    expectEqual([text, finish], want, "completion stream");
  });
}

const first = goldens.cases[0];

await check("stream include_usage", async () => {
  const [, , usage, roles] = await chatStreamText(first.messages, { stream_options: { include_usage: true } });
  expect(roles === 1, `role deltas: ${roles}`);
  expectEqual(usage, {
    prompt_tokens: first.prompt_ids.length, completion_tokens: first.output_ids.length,
    total_tokens: first.prompt_ids.length + first.output_ids.length, prompt_tokens_details: { cached_tokens: usage?.prompt_tokens_details?.cached_tokens },
  }, "usage");
  const [, , plain] = await completionStreamText("Hello", { stream_options: { include_usage: true }, max_tokens: 3 });
  expectEqual([plain.completion_tokens, plain.total_tokens - plain.prompt_tokens], [3, 3], "completion usage");
});

await check("n=2", async () => {
  const r = await client.chat.completions.create({ model, messages: first.messages, max_tokens: 5, n: 2, temperature: 1, seed: 7 });
  expectEqual(r.choices.map((c) => c.index), [0, 1], "indices");
  for (const c of r.choices) expectEqual(c.finish_reason, "length", "finish");
  expectEqual(r.usage.completion_tokens, 10, "completion_tokens");
  // Streaming: both choices arrive, each with its own role and finish.
  const stream = await client.chat.completions.create({ model, messages: first.messages, max_tokens: 5, n: 2, stream: true, seed: 7 });
  const texts = ["", ""], finishes = [null, null];
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      texts[c.index] += c.delta.content ?? "";
      if (c.finish_reason) finishes[c.index] = c.finish_reason;
    }
  }
  expectEqual(finishes, ["length", "length"], "stream finishes");
  expectEqual(texts, r.choices.map((c) => c.message.content), "same seed, same samples");
});

await check("chat logprobs", async () => {
  const r = await client.chat.completions.create({
    model, messages: first.messages, max_tokens: 4, temperature: 0, logprobs: true, top_logprobs: 3,
  });
  const content = r.choices[0].logprobs.content;
  expectEqual(content.length, 4, "entries");
  for (const entry of content) {
    expect(entry.logprob <= 0, `logprob ${entry.logprob}`);
    expectEqual(entry.top_logprobs.length, 3, "top_logprobs");
    // Greedy: the sampled token is the most likely one.
    expectEqual(entry.top_logprobs[0].token, entry.token, "greedy token is top-1");
    expectEqual(entry.bytes, [...Buffer.from(entry.token, "utf8")], "bytes");
  }
  expectEqual(content.map((e) => e.token).join(""), r.choices[0].message.content, "tokens join to the text");
});

await check("completion logprobs", async () => {
  const r = await client.completions.create({ model, prompt: "Hello", max_tokens: 3, temperature: 0, logprobs: 2 });
  const lp = r.choices[0].logprobs;
  expectEqual(lp.tokens.length, 3, "tokens");
  expectEqual(lp.token_logprobs.length, 3, "token_logprobs");
  expectEqual(lp.text_offset[0], 0, "first offset");
  for (const [k, top] of lp.top_logprobs.entries()) {
    expect(Object.keys(top).length >= 2, `top ${JSON.stringify(top)}`);
    expectEqual(top[lp.tokens[k]], lp.token_logprobs[k], "sampled token in top");
  }
});

await check("stop strings", async () => {
  // Stop in the middle of case 0's reference text.
  const full = first.output_text;
  const stop = full.slice(10, 14);
  const cut = full.indexOf(stop);
  const [text, finish, r] = await chatText(first.messages, { stop: [stop] });
  expectEqual([text, finish], [full.slice(0, cut), "stop"], "chat stop");
  expectEqual(r.choices[0].stop_reason, stop, "stop_reason");
  const [streamed, streamFinish] = await chatStreamText(first.messages, { stop });
  expectEqual([streamed, streamFinish], [full.slice(0, cut), "stop"], "chat stream stop");
});

await check("error objects", async () => {
  try {
    await client.chat.completions.create({ model, messages: first.messages, temperature: "hot" });
    throw new Error("no error");
  } catch (e) {
    expect(e instanceof OpenAI.BadRequestError, `class ${e?.constructor?.name}: ${e}`);
    expectEqual([e.status, e.error?.param, e.error?.type], [400, "temperature", "invalid_request_error"], "400");
    expect(/temperature/.test(e.message), e.message);
  }
  try {
    await client.completions.create({ model: "no-such-model", prompt: "x" });
    throw new Error("no error");
  } catch (e) {
    expect(e instanceof OpenAI.NotFoundError, `class ${e?.constructor?.name}: ${e}`);
    expectEqual([e.status, e.error?.param, e.error?.code], [404, "model", "model_not_found"], "404");
  }
  try {
    await client.completions.create({ model, prompt: "x", max_tokens: 1000000 });
    throw new Error("no error");
  } catch (e) {
    expect(e instanceof OpenAI.BadRequestError, `class ${e?.constructor?.name}: ${e}`);
    expect(/maximum context length/.test(e.message), e.message);
  }
});

if (apiKey !== undefined) {
  await check("wrong API key", async () => {
    const wrong = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: apiKey + "x", maxRetries: 0 });
    try {
      await wrong.completions.create({ model, prompt: "x", max_tokens: 1 });
      throw new Error("no error");
    } catch (e) {
      expect(e instanceof OpenAI.AuthenticationError, `class ${e?.constructor?.name}: ${e}`);
      expectEqual(e.status, 401, "status");
    }
  });
}

process.exit(failures === 0 ? 0 : 1);
