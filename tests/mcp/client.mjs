// Drives `hostsync mcp` with the official MCP TypeScript SDK's client (tests/e2e/test_mcp.py).
// Input: a JSON plan on argv[2]: { command, args, env, calls: [{name, arguments} | {raw: {method, params}}] }.
// Output: one JSON document on stdout: the negotiated version, server info, the tool list
// and every call's result (or the JSON-RPC error the SDK raised), in order.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { z } from "zod";

const plan = JSON.parse(process.argv[2]);
const transport = new StdioClientTransport({
  command: plan.command, args: plan.args, env: { ...process.env, ...plan.env }, stderr: "inherit",
});
// The SDK tells a transport the negotiated revision through this hook (stdio has none).
let negotiated = null;
transport.setProtocolVersion = (v) => { negotiated = v; };
const client = new Client({ name: "hostsync-e2e", version: "1.0.0" });
await client.connect(transport);
const out = {
  protocolVersion: negotiated,
  serverVersion: client.getServerVersion(),
  capabilities: client.getServerCapabilities(),
  instructions: client.getInstructions(),
  tools: (await client.listTools()).tools,
  calls: [],
};
for (const c of plan.calls) {
  try {
    if (c.raw) {
      out.calls.push({ result: await client.request({ method: c.raw.method, params: c.raw.params }, z.any()) });
    } else {
      out.calls.push({ result: await client.callTool({ name: c.name, arguments: c.arguments }) });
    }
  } catch (e) {
    out.calls.push({ error: { code: e.code ?? null, message: String(e.message) } });
  }
}
await client.close();
process.stdout.write(JSON.stringify(out) + "\n");
