// Streams a workload of chat requests through the `openai` client, request i
// to gateway i mod (number of gateways), at most `concurrency` at once, and
// measures each one's time to first token.
//
//   node shared_prefix_load.mjs WORKLOAD.json
//
// WORKLOAD.json: {"gateways": [BASE_URL, ...], "model", "max_tokens",
// "concurrency", "requests": [{"messages": [...]}, ...]}. Every request
// must stream exactly max_tokens tokens (EOS ignored) and end with usage.
// Prints one JSON line per request, in order of completion:
// {"i", "ok", "ttft_ms", "prompt_tokens", "cached_tokens", "error"}; and
// "completed N" on stderr after each.
import { readFileSync } from "node:fs";
import OpenAI from "openai";

const workload = JSON.parse(readFileSync(process.argv[2], "utf8"));
const clients = workload.gateways.map(
  (url) => new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries: 0, timeout: 120000 }));
let next = 0, completed = 0;

async function one(i) {
  const result = { i, ok: false, ttft_ms: null, prompt_tokens: null, cached_tokens: null, error: null };
  const start = performance.now();
  try {
    const stream = await clients[i % clients.length].chat.completions.create({
      model: workload.model, messages: workload.requests[i].messages, max_tokens: workload.max_tokens,
      ignore_eos: true, temperature: 0, stream: true, stream_options: { include_usage: true },
    });
    let usage = null, finish = null;
    for await (const chunk of stream) {
      if (result.ttft_ms === null && chunk.choices.length > 0) result.ttft_ms = performance.now() - start;
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) if (c.finish_reason) finish = c.finish_reason;
    }
    if (usage?.completion_tokens !== workload.max_tokens || finish !== "length") {
      throw new Error(`usage ${JSON.stringify(usage)}, finish ${finish}`);
    }
    result.prompt_tokens = usage.prompt_tokens;
    result.cached_tokens = usage.prompt_tokens_details?.cached_tokens ?? 0;
    result.ok = true;
  } catch (e) {
    result.error = String(e);
  }
  console.log(JSON.stringify(result));
  process.stderr.write(`completed ${++completed}\n`);
}

async function worker() {
  while (next < workload.requests.length) await one(next++);
}

await Promise.all(Array.from({ length: workload.concurrency }, worker));
