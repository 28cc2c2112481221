/** The seed of a suite that draws fresh inputs on every run, printed so that HEADGRAD_TEST_SEED=n can repeat it. */
export function testSeed(suite: string): number {
  const seed = Number(process.env.HEADGRAD_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`  ${suite}: seed ${seed} (HEADGRAD_TEST_SEED to repeat)`);
  return seed;
}
