// Records and topics of the updates area; `topics.ts` merges `updatesTopics` into the registry.
export const updatesTopics = {} as const;
