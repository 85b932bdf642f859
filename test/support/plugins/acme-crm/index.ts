// An operator's plugin (loaded from PLUGINS_DIR by the integration tests): a small in-memory CRM with contacts and
// tickets. It follows the plugin contract only (src/api/integrations/contract.ts) and imports nothing else of the app.
import { Type } from "@sinclair/typebox";
import { type CompiledOperation, type DiscoveredSchema, definePlugin, PluginError, type ValidatedBinding } from "../../../../src/api/integrations/contract.ts";

const CONTACTS = [
  { id: 1, name: "Ada Lovelace", email: "ada@example.test", phone: "+15550100001", ssn: "123-45-6789", tier: "gold" },
  { id: 2, name: "Alan Turing", email: "alan@example.test", phone: "+15550100002", ssn: "987-65-4321", tier: "silver" },
];
const TICKETS = [
  { id: 10, contact_id: 1, subject: "Printer on fire", status: "open" },
  { id: 11, contact_id: 2, subject: "Cannot log in", status: "closed" },
];

export const schema: DiscoveredSchema = {
  objects: [
    {
      name: "contacts",
      description: "People who call in",
      fields: [
        { name: "id", type: "integer", required: false, nullable: false, primaryKey: true, unique: true, leadingIndex: true, generated: true },
        { name: "name", type: "string", required: true, nullable: false, sensitivity: "pii" },
        { name: "email", type: "string", required: false, nullable: true, unique: true, leadingIndex: true, sensitivity: "pii" },
        { name: "phone", type: "string", required: false, nullable: true, leadingIndex: true },
        { name: "ssn", type: "string", required: false, nullable: true, sensitivity: "pii" },
        { name: "tier", type: "string", required: false, nullable: true, allowedValues: ["gold", "silver"] },
      ],
    },
    {
      name: "tickets",
      description: "Support requests",
      fields: [
        { name: "id", type: "integer", required: false, nullable: false, primaryKey: true, unique: true, leadingIndex: true, generated: true },
        { name: "contact_id", type: "integer", required: true, nullable: false, references: { object: "contacts", field: "id" }, leadingIndex: true },
        { name: "subject", type: "string", required: true, nullable: false },
        { name: "status", type: "string", required: false, nullable: false, allowedValues: ["open", "closed"], generated: true },
      ],
    },
  ],
  relationships: [{ name: "tickets_contact", from: { object: "tickets", field: "contact_id" }, to: { object: "contacts", field: "id" } }],
  operations: [
    { name: "contacts.select", object: "contacts", kind: "read", description: "Find contacts" },
    { name: "contacts.update", object: "contacts", kind: "write", effect: "update", description: "Change a contact" },
    { name: "tickets.select", object: "tickets", kind: "read", description: "Find tickets" },
    { name: "tickets.insert", object: "tickets", kind: "write", effect: "create", description: "Open a ticket" },
  ],
};

/** Tests flip these to make discovery fail in a chosen way. */
export const behaviour = { discover: "ok" as "ok" | "throw" | "malformed" | "unavailable" };

export default definePlugin({
  kind: "acme_crm",
  name: "Acme CRM",
  category: "crm",
  version: "1.2.3",
  description: "Contacts and tickets of the Acme CRM",
  skillType: "crm",
  auth: { type: "api_key", schema: Type.Object({ apiKey: Type.String({ minLength: 8 }) }) },
  accountLabel: () => "acme.example.test",
  actions: [
    {
      slug: "lookup_contact",
      name: "Look up a contact",
      description: "Find the caller's contact record by phone",
      isWrite: false,
      important: true,
      parameters: Type.Object({ phone: Type.String({ description: "The caller's phone", minLength: 3 }) }),
      operation: "contacts.select",
    },
    {
      slug: "create_ticket",
      name: "Open a ticket",
      description: "Open a support ticket",
      isWrite: true,
      important: true,
      parameters: Type.Object({ subject: Type.String() }),
      operatorConfig: [{ name: "queue", description: "Which queue tickets go to", required: true }],
      operation: "tickets.insert",
    },
    {
      slug: "list_tickets",
      name: "List tickets",
      description: "All tickets of a contact",
      isWrite: false,
      parameters: Type.Object({ contact_id: Type.Integer() }),
      operation: "tickets.select",
    },
  ],
  pack: {
    guidance: "Identify callers by phone before reading tickets.",
    skills: [
      { slug: "caller_tickets", name: "Caller tickets", description: "The open tickets of the caller", skillType: "crm", parametersSchema: { type: "object", properties: { phone: { type: "string" } }, required: ["phone"] }, executionConfig: { operation: "tickets.select" }, isWrite: false },
    ],
  },
  async test(ctx) {
    const key = String(ctx.credentials.apiKey);
    // An "on-prem" key makes the test reach a loopback host, which the egress guard refuses without EGRESS_ALLOWLIST.
    if (key.startsWith("onprem")) await ctx.checkHost("127.0.0.1");
    // A "hang" key never answers: the app's deadline must end the call.
    if (key.startsWith("hang")) await new Promise(() => {});
    return [
      { name: "reachability", ok: true, ms: 1, detail: "reached acme.example.test" },
      { name: "authentication", ok: !key.startsWith("bad"), ms: 1, detail: key.startsWith("bad") ? "the API key was refused" : "authenticated" },
      { name: "read_only", ok: false, ms: 0, detail: "the key can write" },
    ];
  },
  async discover() {
    if (behaviour.discover === "throw") throw new Error("boom");
    if (behaviour.discover === "unavailable") throw new PluginError("unavailable", "Acme is down for maintenance");
    if (behaviour.discover === "malformed") return { objects: [{ name: 42 }] } as unknown as DiscoveredSchema;
    return structuredClone(schema);
  },
  compile(binding: ValidatedBinding): CompiledOperation {
    if (binding.object.name === "contacts" && binding.isWrite && binding.values.some((v) => v.field === "tier")) throw new PluginError("invalid_binding", "tier cannot be written through the API", ["inputObjectMap"]);
    return {
      operation: binding.operation.name,
      search: binding.search ?? null,
      values: binding.values,
      key: binding.key ?? null,
      projection: binding.projection.map((p) => ({ path: p.path, leaf: p.leaf })),
    };
  },
  async execute(operation, args) {
    const rows = operation.operation.startsWith("contacts") ? CONTACTS : TICKETS;
    const search = operation.search as { field: string; param: string } | null;
    const found = search ? rows.filter((r) => String((r as Record<string, unknown>)[search.field]) === String(args[search.param])) : rows;
    return { rows: found.map((r) => ({ ...r })) };
  },
});
