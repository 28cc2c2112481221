// The package version, read from package.json so there is one source of truth. lib/ (run
// through tsx) and dist/ (compiled) both sit one level below the package root.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const VERSION: string = (require('../package.json') as { version: string }).version;
