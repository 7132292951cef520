// Records and topics of the advisories area; `topics.ts` merges `advisoriesTopics` into the registry.
export const advisoriesTopics = {} as const;
