// Records and topics of the inventory area; `topics.ts` merges `inventoryTopics` into the registry.
export const inventoryTopics = {} as const;
