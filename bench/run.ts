/**
 * `npm run bench -- <scenario> [args]`: runs one benchmark scenario, or all of them in order
 * when none is named. Each scenario prints its figure next to the baseline measured in the same run.
 */
type Scenario = { run(args: string[]): Promise<void> };

const SCENARIOS: Record<string, () => Promise<Scenario>> = {
  import: () => import('./import.ts'),
  mail: () => import('./mail.ts'),
  verify: () => import('./verify.ts'),
  welcome: () => import('./welcome.ts'),
};

const [name, ...args] = process.argv.slice(2);
const names = name ? [name] : Object.keys(SCENARIOS);
for (const n of names) {
  const load = SCENARIOS[n];
  if (!load) {
    console.error(`Unknown scenario "${n}". Scenarios: ${Object.keys(SCENARIOS).join(', ')}.`);
    process.exit(2);
  }
  await (await load()).run(args);
}
