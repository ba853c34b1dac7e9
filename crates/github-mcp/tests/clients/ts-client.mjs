// Drives an MCP stdio server with the official TypeScript SDK (@modelcontextprotocol/sdk).
//
// Usage: node ts-client.mjs COMMAND [ARGS...]   (CE_PEERS_DIR locates the SDK; env passed on)
// stdin:  {"steps": [{"op": "list"}, {"op": "call", "name": "...", "arguments": {...}}]}
// stdout: {"op": "connected", "protocolVersion": ..., "serverInfo": ...}, then one line per step:
//         {"op": "list", "tools": [...]}, {"op": "call", "result": {...}} or {"op", "error": {code, message}}.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const peers = process.env.CE_PEERS_DIR;
const sdk = (p) => pathToFileURL(join(peers, "node_modules/@modelcontextprotocol/sdk/dist/esm", p)).href;
const { Client } = await import(sdk("client/index.js"));
const { StdioClientTransport } = await import(sdk("client/stdio.js"));

const script = JSON.parse(readFileSync(0, "utf8"));
const [command, ...args] = process.argv.slice(2);
const transport = new StdioClientTransport({ command, args, env: process.env, stderr: "inherit" });
const client = new Client({ name: "ts-client", version: "1.0.0" });
const emit = (o) => process.stdout.write(JSON.stringify(o) + "\n");

await client.connect(transport);
emit({ op: "connected", protocolVersion: transport.protocolVersion ?? null, serverInfo: client.getServerVersion() });
for (const step of script.steps) {
  try {
    if (step.op === "list") {
      const { tools } = await client.listTools();
      emit({ op: "list", tools });
    } else if (step.op === "call") {
      const result = await client.callTool({ name: step.name, arguments: step.arguments ?? {} });
      emit({ op: "call", result });
    }
  } catch (e) {
    emit({ op: step.op, error: { code: e.code ?? null, message: String(e.message ?? e) } });
  }
}
await client.close();
