// The `openai` client with the right API key, and with a wrong one.
//
//   node api_key_check.mjs BASE_URL MODEL KEY
import OpenAI from "openai";

const [baseUrl, model, key] = process.argv.slice(2);
const good = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: key, maxRetries: 0 });
const r = await good.completions.create({ model, prompt: "Hi", max_tokens: 2 });
if (r.choices.length !== 1) throw new Error(`choices: ${JSON.stringify(r)}`);

const bad = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: key + "x", maxRetries: 0 });
try {
  await bad.completions.create({ model, prompt: "Hi", max_tokens: 2 });
  throw new Error("a wrong key was accepted");
} catch (e) {
  if (!(e instanceof OpenAI.AuthenticationError) || e.status !== 401) throw e;
}
console.log("ok");
