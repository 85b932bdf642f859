// The Numbers tag: search the inventory, hold, buy or import numbers, point them at agents, release them; and the
// operator's pool of trunk numbers. Reads need numbers:read, everything that changes state numbers:write.
import { Elysia, t } from "elysia";
import type { Principal } from "../../platform/auth/principal.ts";
import { problems } from "../../platform/http/docs.ts";
import { Envelope, ok, VoidEnvelope } from "../../platform/http/envelope.ts";
import { DEFAULT_LIMIT, PageQuery, Paginated } from "../../platform/http/pagination.ts";
import type { ApiContext } from "../context.ts";
import {
  AssignBody,
  AvailableNumber,
  E164Params,
  IdParams,
  ImportBody,
  PhoneNumber,
  PoolNumber,
  PoolNumberBody,
  PurchaseBody,
  Reservation,
  ReservationParams,
  ReserveBody,
  SearchQuery,
  SearchResult,
} from "./model.ts";
import { MAX_ACTIVE_HOLDS, SipTrunkProvider } from "./providers/sip-trunk.ts";
import { HOLD_MINUTES, NumbersService } from "./service.ts";

const tags = ["Numbers"];

export function numberRoutes(ctx: ApiContext) {
  const numbers = new NumbersService(ctx.database, ctx.agents, new SipTrunkProvider(ctx.database.db), ctx.config.defaultPhoneRegion);
  const org = (c: unknown) => (c as { principal: Principal }).principal.organizationId;

  return new Elysia({ prefix: "/api/v1" })
    .use(ctx.conventions)
    .get("/numbers", ({ query, ...c }) => numbers.list(org(c), { ...query, limit: query.limit ?? DEFAULT_LIMIT }), {
      scope: "numbers:read",
      query: t.Object(PageQuery),
      response: { 200: Paginated(PhoneNumber), ...problems(400) },
      detail: { summary: "List owned numbers", description: "The organization's numbers, newest first; released numbers are gone.", tags },
    })
    .get("/numbers/search", async ({ query, ...c }) => ok(await numbers.search(org(c), query)), {
      scope: "numbers:read",
      query: SearchQuery,
      response: { 200: Envelope(t.Array(SearchResult)), ...problems(400) },
      detail: {
        summary: "Search inventory",
        description:
          "Numbers you could buy now (not owned, not held by another organization), as a plain list of up to limit (1–50, default 20). " +
          "Exact matches come first; with bestEffort (default true) the rest of the list is filled with nearby numbers, marked bestEffort: true.",
        tags,
      },
    })
    .get("/numbers/available/:e164", async ({ params, ...c }) => ok(await numbers.available(org(c), params.e164)), {
      scope: "numbers:read",
      params: E164Params,
      response: { 200: Envelope(AvailableNumber), ...problems(400, 404) },
      detail: { summary: "Re-check one number", description: "Price and availability right before a purchase. 404 number_not_found when it can no longer be bought.", tags },
    })
    .post(
      "/numbers/reserve",
      async ({ body, set, ...c }) => {
        set.status = 201;
        return ok(await numbers.reserve(org(c), body.e164));
      },
      {
        scope: "numbers:write",
        body: ReserveBody,
        parse: "json",
        response: { 201: Envelope(Reservation), ...problems(400, 404, 409, 413, 415) },
        detail: {
          summary: "Reserve a number",
          description:
            `Holds the number for your organization for ${HOLD_MINUTES} minutes, free of charge, so nobody else can buy it. Reserving a number you already hold answers ` +
            `that reservation unchanged. 409 number_held / number_not_available when it cannot be held; 409 too_many_reservations past ${MAX_ACTIVE_HOLDS} holds at a time.`,
          tags,
        },
      },
    )
    .delete("/numbers/reserve/:id", async ({ params, ...c }) => {
      await numbers.cancelReservation(org(c), params.id);
      return ok(null, "reservation released");
    }, {
      scope: "numbers:write",
      params: ReservationParams,
      response: { 200: VoidEnvelope, ...problems(404) },
      detail: { summary: "Release a hold", description: "Frees the number at once. 404 reservation_not_found for a hold that ended or is not yours.", tags },
    })
    .post(
      "/numbers/purchase",
      async ({ body, set, ...c }) => {
        set.status = 201;
        return ok(await numbers.purchase(org(c), body));
      },
      {
        scope: "numbers:write",
        idempotent: true,
        body: PurchaseBody,
        parse: "json",
        response: { 201: Envelope(PhoneNumber), ...problems(400, 402, 404, 409, 413, 415, 422) },
        detail: {
          summary: "Purchase a number",
          description:
            "Buys the number, debiting setupCost + the first monthlyCost from the wallet in the same transaction. 402 insufficient_funds when the wallet is short " +
            "(nothing is held or charged); 409 when another organization holds or owns it. Your own hold is honoured and consumed. Send Idempotency-Key: a retry replays the first result and charges once.",
          tags,
        },
      },
    )
    .post(
      "/numbers/import",
      async ({ body, set, ...c }) => {
        set.status = 201;
        return ok(await numbers.importNumber(org(c), body));
      },
      {
        scope: "numbers:write",
        idempotent: true,
        body: ImportBody,
        parse: "json",
        response: { 201: Envelope(PhoneNumber), ...problems(400, 404, 409, 413, 415, 422) },
        detail: {
          summary: "Import a number",
          description:
            "Brings in a number the trunk already routes, free of charge, optionally assigned to agentId at once. 409 number_for_sale for an inventory number with a price " +
            "(purchase it instead), 409 when another organization holds or owns it.",
          tags,
        },
      },
    )
    .post("/numbers/:id/assign", async ({ params, body, ...c }) => ok(await numbers.assign(org(c), params.id, body.agentId)), {
      scope: "numbers:write",
      params: IdParams,
      body: AssignBody,
      parse: "json",
      response: { 200: Envelope(PhoneNumber), ...problems(400, 404, 413, 415) },
      detail: { summary: "Assign to an agent", description: "Inbound calls to the number ring this agent (its published version). 404 when the number or the agent is not in your organization.", tags },
    })
    .delete("/numbers/:id/assign", async ({ params, ...c }) => ok(await numbers.unassign(org(c), params.id)), {
      scope: "numbers:write",
      params: IdParams,
      response: { 200: Envelope(PhoneNumber), ...problems(404) },
      detail: { summary: "Unassign", description: "The number stays yours (status available) and rings no agent until assigned again.", tags },
    })
    .delete("/numbers/:id", async ({ params, ...c }) => {
      await numbers.release(org(c), params.id);
      return ok(null, "number released");
    }, {
      scope: "numbers:write",
      params: IdParams,
      response: { 200: VoidEnvelope, ...problems(404) },
      detail: { summary: "Release a number", description: "Irreversible: the number goes back to the inventory, free for anyone to buy, and stops ringing your agent.", tags },
    })
    .post(
      "/numbers/pool",
      async ({ body, set, ...c }) => {
        const { number, created } = await numbers.declarePoolNumber(org(c), body);
        set.status = created ? 201 : 200;
        return ok(number);
      },
      {
        scope: "numbers:write",
        body: PoolNumberBody,
        parse: "json",
        response: { 200: Envelope(PoolNumber), 201: Envelope(PoolNumber), ...problems(400, 413, 415) },
        detail: {
          summary: "Add a trunk number to the inventory",
          description:
            "Operator only (keys of the default organization; 403 operator_only otherwise): declares a DID the SIP trunk routes, or changes its details and prices. " +
            "201 for a new number, 200 for an update; fields left out keep their value. Ownership and holds are never changed here.",
          tags,
        },
      },
    )
    .delete("/numbers/pool/:e164", async ({ params, ...c }) => {
      await numbers.retirePoolNumber(org(c), params.e164);
      return ok(null, "number removed from the inventory");
    }, {
      scope: "numbers:write",
      params: E164Params,
      response: { 200: VoidEnvelope, ...problems(400, 404, 409) },
      detail: { summary: "Remove a trunk number from the inventory", description: "Operator only. 409 number_in_use while an organization owns it, number_held while one holds it.", tags },
    });
}
