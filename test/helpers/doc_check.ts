// Checks what a Markdown file names against the repository: every file path of the repository
// (links, and code spans or code-block words whose first segment is a tracked top-level entry,
// or bare source-file names), every `npm run X` (a script in package.json), every
// `headgrad SUB ... --flag` (a subcommand and its options in the commander program), and every
// `node FILE` / `node --import tsx FILE` / `npx tsx FILE` (the file exists). Output names
// (reproduce-report/, tuned/, ap-before.json) are not the repository's and are not checked.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';

export interface RepoView {
  root: string;
  /** Tracked files, relative to root, with '/' separators. */
  files: readonly string[];
  scripts: Readonly<Record<string, string>>;
  program: Command;
}

const SOURCE_EXT = /\.(ts|mts|mjs|js|cpp|cu|cuh|h|py|sh)$/;

/** Problems found in `text` (the file `docFile`, relative to root); empty when all is well. */
export function checkDoc(docFile: string, text: string, repo: RepoView): string[] {
  const problems: string[] = [];
  const topLevel = new Set(repo.files.map((f) => f.split('/')[0]!));
  const dirs = new Set<string>();
  for (const f of repo.files) for (let p = path.posix.dirname(f); p !== '.'; p = path.posix.dirname(p)) dirs.add(p);
  const fileSet = new Set(repo.files);
  const basenames = new Set(repo.files.map((f) => path.posix.basename(f)));
  const exists = (p: string) => {
    const clean = p.replace(/\/$/, '');
    if (clean.includes('*')) {
      const re = new RegExp('^' + clean.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*') + '$');
      return repo.files.some((f) => re.test(f));
    }
    return fileSet.has(clean) || dirs.has(clean) || existsSync(path.join(repo.root, clean));
  };
  const docDir = path.posix.dirname(docFile);

  // 1. Markdown links to local files, relative to the document.
  for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1]!.split('#')[0]!;
    if (target === '' || /^[a-z]+:/.test(target)) continue;
    const rel = path.posix.normalize(path.posix.join(docDir, target));
    if (!exists(rel)) problems.push(`${docFile}: link to ${target}: no such file (${rel})`);
  }

  // 2. Words in code spans and code blocks.
  const code = [...text.matchAll(/```[^\n]*\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const withoutBlocks = text.replace(/```[^\n]*\n[\s\S]*?```/g, '');
  const spans = [...withoutBlocks.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
  for (const chunk of [...code, ...spans]) {
    for (const raw of chunk.split(/[\s'"(),=;:]+/)) {
      const w = raw.replace(/[.,;:]+$/, '');
      if (!/^[\w.][\w./*-]*$/.test(w) || w.startsWith('//')) continue;
      const first = w.split('/')[0]!;
      if (w.includes('/') && topLevel.has(first) && first !== '.' && !/[A-Z]{3,}/.test(w.replace(/^[^/]*/, ''))) {
        if (!exists(w)) problems.push(`${docFile}: path ${w}: no such file or folder`);
      } else if (!w.includes('/') && SOURCE_EXT.test(w) && !/^[A-Z]+\./.test(w)) {
        if (!basenames.has(w)) problems.push(`${docFile}: file ${w}: no tracked file has that name`);
      }
    }
  }

  // 3. Commands: in code blocks every line (continuations joined); in prose, spans that start with one.
  const lines: string[] = [];
  for (const block of code) lines.push(...block.replace(/\\\n\s*/g, ' ').split('\n'));
  lines.push(...spans);
  for (const line of lines) {
    for (const part of line.split(/&&|;|\|\||\||\bdo\b|\bthen\b/)) problems.push(...checkCommand(docFile, part.replace(/#.*$/, '').trim(), repo, exists));
  }
  return problems;
}

function checkCommand(docFile: string, cmd: string, repo: RepoView, exists: (p: string) => boolean): string[] {
  // Drop leading environment assignments and wrappers.
  const words = cmd.split(/\s+/).filter(Boolean);
  while (words.length && (/^[A-Z_][A-Z0-9_]*=/.test(words[0]!) || ['time', 'nice', 'sudo', 'env'].includes(words[0]!) || /^-n$|^\d+$/.test(words[0]!))) words.shift();
  if (words[0] === '/usr/bin/time') words.splice(0, words[1] === '-v' ? 2 : 1);
  if (words[0] === 'npx' && words[1] === 'headgrad') words.shift();
  if (words[0] === 'npx' && words[1] === 'tsx') { words.splice(0, 2, 'node', '--import', 'tsx'); }
  const problems: string[] = [];
  if (words[0] === 'npm' && words[1] === 'run' && words[2]) {
    if (!(words[2] in repo.scripts)) problems.push(`${docFile}: npm run ${words[2]}: package.json has no such script`);
  } else if (words[0] === 'node') {
    let i = 1;
    while (i < words.length && words[i]!.startsWith('-')) i += words[i] === '--import' ? 2 : 1;
    const file = words[i];
    if (file && /\.(ts|mjs|js)$/.test(file) && !file.startsWith('dist/') && !exists(file)) {
      problems.push(`${docFile}: node ${file}: no such file`);
    }
  } else if (words[0] === 'headgrad') {
    let cmdObj: Command = repo.program;
    let i = 1;
    const path_: string[] = [];
    while (i < words.length && !words[i]!.startsWith('-')) {
      const sub = cmdObj.commands.find((c) => c.name() === words[i]);
      if (!sub) break;
      cmdObj = sub;
      path_.push(words[i]!);
      i++;
    }
    if (cmdObj === repo.program) {
      if (words[1] && !words[1].startsWith('-') && /^[a-z]+$/.test(words[1])) problems.push(`${docFile}: headgrad ${words[1]}: no such command`);
      return problems;
    }
    const longs = new Set(['--help', '--version', ...cmdObj.options.map((o) => o.long!).filter(Boolean)]);
    for (const w of words.slice(i)) {
      const flag = w.split('=')[0]!;
      if (/^--[a-z][\w-]*$/.test(flag) && !longs.has(flag)) problems.push(`${docFile}: headgrad ${path_.join(' ')} ${flag}: no such option`);
    }
  }
  return problems;
}

/** The Markdown files the checks cover: README.md and every docs/*.md (files added later included). */
export function documentationFiles(root: string): string[] {
  const docs = existsSync(path.join(root, 'docs')) ? readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`) : [];
  return ['README.md', ...docs.sort()];
}
