// The section type lives with the peers benchmark in lib/bench (shipped, so `headgrad bench` runs it).
export type { BenchModule, BenchSection, Json } from '../../lib/bench/types.js';
