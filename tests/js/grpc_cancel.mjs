// Starts a long tern.v1.Generation stream, cancels it after its first
// chunks, and exits.
//   node grpc_cancel.mjs ADDRESS
import path from "node:path";
import { fileURLToPath } from "node:url";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const [address] = process.argv.slice(2);
const protoDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../proto");
const definition = protoLoader.loadSync(path.join(protoDir, "tern/v1/generation.proto"), { keepCase: true });
const { Generation } = grpc.loadPackageDefinition(definition).tern.v1;
const client = new Generation(address, grpc.credentials.createInsecure());
const call = client.Complete({ prompts: [{ text: "Once upon a time" }], options: { max_tokens: 30000, ignore_eos: true } });
let chunks = 0;
call.on("data", () => {
  if (++chunks === 20) setTimeout(() => call.cancel(), 300);
});
call.on("error", (e) => {
  if (e.code !== grpc.status.CANCELLED) {
    console.error(`unexpected error ${e.code} ${e.details}`);
    process.exit(1);
  }
  client.close();
  process.exit(0);
});
call.on("end", () => {
  console.error("the stream ended before it was cancelled");
  process.exit(1);
});
