// headgrad report: (re)builds report.html from a report.json written by any command
// (writeReport saves the ReportSpec inside it), e.g. after editing the spec or upgrading headgrad.
import path from 'node:path';
import type { Command } from 'commander';
import { readReport, renderReport } from '../report/html.js';
import { writeTextAtomic } from '../util/atomic_file.js';
import { HeadgradError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('report')
    .description('render report.html from a report.json')
    .argument('<report.json>', 'a report.json written by a headgrad command')
    .option('--out <file>', 'where to write the HTML (default: report.html beside the JSON)')
    .action(async (json: string, opts: { out?: string }) => {
      const file = await readReport(json);
      const out = opts.out ?? path.join(path.dirname(json), 'report.html');
      try {
        await writeTextAtomic(out, renderReport(file.spec));
      } catch (e) {
        throw new HeadgradError('ERR_HEADGRAD_USAGE', `cannot write ${out}: ${(e as Error).message}`);
      }
      process.stdout.write(out + '\n');
    });
}
