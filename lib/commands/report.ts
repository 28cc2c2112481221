// headgrad report: (re)builds report.html from a report.json written by any command
// (writeReport saves the ReportSpec inside it), e.g. after editing the spec or upgrading headgrad;
// or, with --trace, builds the report of an AP telemetry trace (headgrad sft --ap-trace).
import path from 'node:path';
import type { Command } from 'commander';
import { readReport, renderReport, writeReport } from '../report/html.js';
import { traceReport } from '../report/trace.js';
import { readTrace } from '../telemetry/trace_file.js';
import { writeTextAtomic } from '../util/atomic_file.js';
import { requireOutputDir } from './inputs.js';

export function register(program: Command): void {
  program
    .command('report')
    .description('render report.html from a report.json, or (--trace) the report of an AP telemetry trace')
    .argument('[report.json]', 'a report.json written by a headgrad command')
    .option('--trace <file>', 'an --ap-trace file of headgrad sft: heads × steps heatmap, Gini/CV against step and loss, when the pattern settles')
    .option('--out <file>', 'where to write the HTML (default: report.html beside the input); with --trace, report.json goes beside it')
    .action(async (json: string | undefined, opts: { trace?: string; out?: string }) => {
      if ((json === undefined) === (opts.trace === undefined)) throw new Error('report: give either a report.json or --trace FILE (one of them)');
      if (opts.trace !== undefined) {
        const out = opts.out ?? path.join(path.dirname(opts.trace), 'report.html');
        await requireOutputDir(out, '--out');
        const { spec, data } = traceReport(await readTrace(opts.trace), path.basename(opts.trace));
        const files = await writeReport(path.dirname(out), spec, data, { html: path.basename(out) });
        process.stdout.write(files.html + '\n');
        return;
      }
      const file = await readReport(json!);
      const out = opts.out ?? path.join(path.dirname(json!), 'report.html');
      try {
        await writeTextAtomic(out, renderReport(file.spec));
      } catch (e) {
        throw new Error(`cannot write ${out}: ${(e as Error).message}`);
      }
      process.stdout.write(out + '\n');
    });
}
