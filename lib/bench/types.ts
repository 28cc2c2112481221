// What every benchmark module in scripts/bench/*.ts returns: one printed table plus the raw
// numbers that go into the JSON file.
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface BenchSection {
  title: string;
  columns: string[];
  rows: (string | number)[][];
  data: Json;
}

export type BenchModule = { run(): Promise<BenchSection> };
