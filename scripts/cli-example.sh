#!/usr/bin/env bash
# The CLI end to end on a tiny model: pretrain on the task suite, fine-tune on two basic tasks
# and one complex task, take activation patterns before and after, fine-tune only the top-4 AP
# heads of reverse, gate off the top heads of the fine-tuned model (ablate), decompose the
# complex task's ΔAP on the basic ones, and render the report.
#   bash scripts/cli-example.sh [OUT_DIR]
# OUT_DIR defaults to $HEADGRAD_EXAMPLE_DIR, else a fresh folder under ${TMPDIR:-/tmp}.
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-${HEADGRAD_EXAMPLE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/headgrad-cli-example.XXXXXX")}}
mkdir -p "$R"
echo "cli-example: writing to $R" >&2
hg() { npx tsx lib/cli.ts "$@"; }
hg pretrain --layers 4 --heads 8 --dim 64 --seq-len 64 --steps 1500 --batch 32 --lr 2e-3 --seed 1 --out "$R/tiny.safetensors"
for t in reverse sort sort-reverse; do
  hg patterns --model "$R/tiny.safetensors" --task "$t" --samples 64 --seed 7 --out "$R/ap-$t-before.json" > /dev/null
  hg sft --model "$R/tiny.safetensors" --task "$t" --steps 150 --batch 16 --lr 3e-3 --out "$R/sft-$t.safetensors" --json > "$R/sft-$t.json"
  hg patterns --model "$R/sft-$t.safetensors" --task "$t" --samples 64 --seed 7 --out "$R/ap-$t-after.json" > /dev/null
done
hg sft --model "$R/tiny.safetensors" --task reverse --steps 150 --batch 16 --lr 3e-3 --mode heads --top-k 4 \
  --heads-from "$R/ap-reverse-before.json" --out "$R/sft-reverse-heads.safetensors" --json > "$R/sft-reverse-heads.json"
hg ablate --model "$R/sft-reverse.safetensors" --task reverse --pattern "$R/ap-reverse-after.json" --k 4 --draws 5 --samples 64
hg decompose --target "$R/ap-sort-reverse-after.json" --target-before "$R/ap-sort-reverse-before.json" \
  --base reverse="$R/ap-reverse-after.json" --base-before reverse="$R/ap-reverse-before.json" \
  --base sort="$R/ap-sort-after.json" --base-before sort="$R/ap-sort-before.json" \
  --method nnls --intercept --permutations 1000 --report "$R/report"
node scripts/render-check.mjs "$R/report/report.html" --png "$R/report.png"
