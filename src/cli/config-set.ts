/** `bitacora config set KEY VALUE`: change the fleet's live configuration (UpdateConfiguration). */
import type { Command } from 'commander';
import { formatDuration } from '../core/index.js';
import type { AgentConfig } from '../client/index.js';
import type { CliContext } from './context.js';
import { action, invalid, parseDurationOption } from './common.js';
import { printJson, printLine } from './output.js';

/** CLI spelling → configuration field; both are accepted. */
export const CONFIG_KEYS: Record<string, keyof AgentConfig> = {
  'heartbeat-interval': 'heartbeatIntervalMs',
  'self-fence-after': 'selfFenceAfterMs',
};
const FIELD_TO_KEY = Object.fromEntries(Object.entries(CONFIG_KEYS).map(([k, f]) => [f, k])) as Record<keyof AgentConfig, string>;

export function printConfig(ctx: CliContext, config: AgentConfig): void {
  for (const [field, value] of Object.entries(config) as [keyof AgentConfig, number][]) {
    printLine(ctx, `${(FIELD_TO_KEY[field] ?? field).padEnd(20)}${formatDuration(value)}`);
  }
}

export function registerConfigSet(config: Command, ctx: CliContext): void {
  config
    .command('set')
    .description('change a fleet setting live: every agent applies it without a restart')
    .argument('<key>', `one of: ${Object.keys(CONFIG_KEYS).join(', ')}`)
    .argument('<value>', 'a duration, e.g. 500ms, 2s')
    .addHelpText(
      'after',
      `
Keys:
  heartbeat-interval   how often agents report (default 1s); a node is down after 3 missed
  self-fence-after     the agents' lease: an agent without an answer from the master this long
                       kills its tasks; a lost node's tasks move elsewhere only after it (+1s),
                       so a task never runs on two nodes at once (default 15s)

Examples:
  $ bitacora config set heartbeat-interval 500ms
  $ bitacora config set self-fence-after 30s`,
    )
    .action(
      action(ctx, async (run) => {
        const [key, value] = run.args as [string, string];
        const field = CONFIG_KEYS[key] ?? (Object.values(CONFIG_KEYS).includes(key as keyof AgentConfig) ? (key as keyof AgentConfig) : undefined);
        if (!field) throw invalid('key', `'${key}' is not a setting; use one of: ${Object.keys(CONFIG_KEYS).join(', ')}`);
        const ms = parseDurationOption(key, value)!;
        const updated = await run.client().updateConfig({ [field]: ms });
        if (run.json) return printJson(ctx, updated);
        printLine(ctx, `${FIELD_TO_KEY[field]} is now ${formatDuration(ms)}; agents apply it live.`);
      }),
    );
}
