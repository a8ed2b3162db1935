// edge-sentinel command line: one file per command.

import { replayCommand } from './replay';

const HELP = `Usage: edge-sentinel <command> [options]

Commands:
  start      run the detector on a built-in simulated fleet (no Kafka, no InfluxDB needed)
  run        the live detector: Kafka in, InfluxDB and the alert topic out
  replay     score an NDJSON telemetry file and write alerts
  simulate   write a simulated fleet with labelled attacks (telemetry.ndjson, labels.json)
  nab        score the metric detector on the Numenta Anomaly Benchmark
  inventory  device inventory: learn a draft from telemetry, report credential hygiene

Run "edge-sentinel <command> --help" for a command's options.`;

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Command> = {
  replay: () => replayCommand,
  simulate: () => require('./simulate').simulateCommand,
  start: () => require('./start').startCommand,
  run: () => require('./run').runDetectorCommand,
  nab: () => require('./nab').nabCommand,
  inventory: () => require('./inventory').inventoryCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP + '\n');
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`edge-sentinel: unknown command "${name}" (commands: ${Object.keys(commands).join(', ')}; see --help)\n`);
    return 2;
  }
  return command()(rest);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      process.stderr.write(`edge-sentinel: ${err.stack ?? err.message}\n`);
      process.exitCode = 1;
    },
  );
}
