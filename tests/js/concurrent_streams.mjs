// N concurrent streaming chat requests through the `openai` client; each
// must stream exactly MAX_TOKENS tokens (EOS ignored) and end with usage.
//
//   node concurrent_streams.mjs BASE_URL MODEL N MAX_TOKENS
//
// Prints one JSON line: {"completed", "failed", "errors", "max_in_flight"}.
import OpenAI from "openai";

const [baseUrl, model, n, maxTokens] = process.argv.slice(2);
const client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: "unused", maxRetries: 0, timeout: 120000 });
let inFlight = 0, maxInFlight = 0, completed = 0;
const errors = [];

async function one(i) {
  inFlight++;
  maxInFlight = Math.max(maxInFlight, inFlight);
  try {
    const stream = await client.chat.completions.create({
      model, messages: [{ role: "user", content: `Request ${i}: tell me something.` }],
      max_tokens: Number(maxTokens), ignore_eos: true, temperature: 1, seed: i, stream: true,
      stream_options: { include_usage: true },
    });
    let usage = null, finish = null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) if (c.finish_reason) finish = c.finish_reason;
    }
    if (usage?.completion_tokens !== Number(maxTokens) || finish !== "length") {
      throw new Error(`usage ${JSON.stringify(usage)}, finish ${finish}`);
    }
    completed++;
  } catch (e) {
    errors.push(`${i}: ${e}`);
  } finally {
    inFlight--;
  }
}

await Promise.all(Array.from({ length: Number(n) }, (_, i) => one(i)));
console.log(JSON.stringify({ completed, failed: errors.length, errors: errors.slice(0, 5), max_in_flight: maxInFlight }));
