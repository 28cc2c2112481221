// Where the Chromium (or Chrome) binary is: $HEADGRAD_CHROMIUM when set, else the first of
// chromium, chromium-browser, google-chrome, google-chrome-stable found on $PATH. Returns null
// when there is none, so callers can say how to install one.
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** @returns {{ path: string | null, tried: string }} */
export function findChromium(env = process.env) {
  if (env.HEADGRAD_CHROMIUM) {
    return { path: executable(env.HEADGRAD_CHROMIUM) ? env.HEADGRAD_CHROMIUM : null, tried: `HEADGRAD_CHROMIUM=${env.HEADGRAD_CHROMIUM}` };
  }
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const name of NAMES) {
    for (const dir of dirs) {
      const file = path.join(dir, name);
      if (executable(file)) return { path: file, tried: '' };
    }
  }
  return { path: null, tried: `${NAMES.join(', ')} on PATH` };
}
