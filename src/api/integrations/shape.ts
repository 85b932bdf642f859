// The shape a plugin's discover() must answer (contract.ts's DiscoveredSchema as TypeBox), checked before a snapshot
// is stored: a plugin is outside code, and what it returns is validated like a request body.
import { Type } from "@sinclair/typebox";

const Name = Type.String({ minLength: 1, maxLength: 200 });
const Ref = Type.Object({ object: Name, field: Name });
const FieldType = Type.Union(["string", "integer", "number", "boolean", "date", "datetime", "time", "json", "binary", "uuid"].map((t) => Type.Literal(t)));

export const DiscoveredSchemaShape = Type.Object({
  objects: Type.Array(
    Type.Object({
      name: Name,
      description: Type.Optional(Type.String({ maxLength: 2000 })),
      fields: Type.Array(
        Type.Object({
          name: Name,
          type: FieldType,
          nativeType: Type.Optional(Type.String({ maxLength: 200 })),
          required: Type.Boolean(),
          nullable: Type.Boolean(),
          allowedValues: Type.Optional(Type.Union([Type.Array(Type.String({ maxLength: 500 }), { maxItems: 500 }), Type.Null()])),
          references: Type.Optional(Type.Union([Ref, Type.Null()])),
          sensitivity: Type.Optional(Type.Union([Type.Literal("contact"), Type.Literal("pii"), Type.Literal("payment_card"), Type.Literal("secret"), Type.Null()])),
          primaryKey: Type.Optional(Type.Boolean()),
          unique: Type.Optional(Type.Boolean()),
          leadingIndex: Type.Optional(Type.Boolean()),
          generated: Type.Optional(Type.Boolean()),
          description: Type.Optional(Type.String({ maxLength: 2000 })),
        }),
        { maxItems: 2000 },
      ),
    }),
    { maxItems: 5000 },
  ),
  relationships: Type.Array(Type.Object({ name: Name, from: Ref, to: Ref }), { maxItems: 20_000 }),
  operations: Type.Array(
    Type.Object({
      name: Name,
      object: Name,
      kind: Type.Union([Type.Literal("read"), Type.Literal("write")]),
      effect: Type.Optional(Type.Union([Type.Literal("create"), Type.Literal("update"), Type.Literal("delete")])),
      description: Type.String({ maxLength: 2000 }),
    }),
    { maxItems: 20_000 },
  ),
});
