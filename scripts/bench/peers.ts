// Peers: the same work through headgrad and PyTorch (lib/bench/peers.ts, which `headgrad bench`
// also runs). It takes minutes, so `npm run bench` runs it only when HEADGRAD_BENCH names it:
//   HEADGRAD_BENCH=peers npm run bench          (HEADGRAD_PEERS_REPS: repetitions, default 3)
import { peers, peersColumns } from '../../lib/bench/peers.js';
import type { BenchSection } from './types.js';

export async function run(): Promise<BenchSection> {
  if (!/peers/.test(process.env.HEADGRAD_BENCH ?? '')) {
    const columns = peersColumns();
    return { title: 'Peers: headgrad vs PyTorch', columns, rows: [['skipped: takes minutes; run HEADGRAD_BENCH=peers npm run bench', ...columns.slice(1).map(() => '')]], data: null };
  }
  return peers({ reps: Number(process.env.HEADGRAD_PEERS_REPS ?? 3) });
}
