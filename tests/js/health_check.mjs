// Asks a gRPC server's standard health service for a service's status with
// @grpc/grpc-js, and prints it (SERVING, NOT_SERVING, ...).
//   node health_check.mjs ADDRESS [SERVICE]
import { fileURLToPath } from "node:url";
import path from "node:path";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const [address, service = ""] = process.argv.slice(2);
const protoDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../proto");
const definition = protoLoader.loadSync(path.join(protoDir, "grpc/health/v1/health.proto"), {
  keepCase: true,
  enums: String,
});
const { Health } = grpc.loadPackageDefinition(definition).grpc.health.v1;
const client = new Health(address, grpc.credentials.createInsecure());
const deadline = new Date(Date.now() + 5000);
client.Check({ service }, { deadline }, (error, response) => {
  if (error) {
    console.error(`health check failed: ${error.code} ${error.details}`);
    process.exit(1);
  }
  console.log(response.status);
  client.close();
});
