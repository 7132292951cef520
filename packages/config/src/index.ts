export { type CliDefinition, ConfigError, defineCli, type OptionSpec, type ParsedCli } from "./cli.ts";
export { brokersOption, commonOptions, topicPrefixOption } from "./common-options.ts";
export { byteSizeSchema, durationSchema, formatDuration, parseDuration } from "./values.ts";
