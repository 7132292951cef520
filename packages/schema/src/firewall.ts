// Records and topics of the firewall area; `topics.ts` merges `firewallTopics` into the registry.
export const firewallTopics = {} as const;
