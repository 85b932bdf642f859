// The event bus: domain events written with the change that causes them, delivered to subscribers in this process
// and on other replicas. docs/events.md lists the events.
export { createEventBus, type EventBus, type EventHandler, type StartFrom, type SubscribeOptions, type Subscription } from "./bus.ts";
export { aggregateTypeOf, EVENT_TYPES, type DomainEvent, type EventPayloads, type EventType, type NewEvent } from "./catalog.ts";
export { appendEvents, eventsInsert } from "./log.ts";
