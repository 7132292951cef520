export { ConfigError, defineCli, type CliDefinition, type OptionSpec, type ParsedCli } from "./cli.ts";
export { brokersOption, commonOptions, topicPrefixOption } from "./common-options.ts";
