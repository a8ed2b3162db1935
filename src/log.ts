// Operator log lines on stderr: one line each, time, level, message. Secrets never reach
// here (config is logged through redactConfig).

export type Level = 'info' | 'warn' | 'error';

export interface Log {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function stderrLog(quiet = false): Log {
  const line = (level: Level, msg: string) => {
    if (quiet && level === 'info') return;
    process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}\n`);
  };
  return { info: (m) => line('info', m), warn: (m) => line('warn', m), error: (m) => line('error', m) };
}
