"""What gpu_bench_table.py and gpu_train_table.py share: both read the JSON of one of our CUDA
benchmarks and of its PyTorch twin, pair our f32 and bf16 rows with PyTorch's row of the same
shape, print one table and may write the merged rows as JSON."""
import argparse
import json


def read_pair(doc):
    """Parses `OURS.json TORCH.json [--json MERGED.json]` (the calling script's docstring is the
    help) and returns (ours, torch, merged_path), the two files loaded; merged_path may be None."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("ours")
    parser.add_argument("torch")
    parser.add_argument("--json", help="also write the merged rows to this file")
    args = parser.parse_args()
    return load(args.ours), load(args.torch), args.json


def load(path):
    with open(path) as f:
        return json.load(f)


def pair_rows(ours, torch, shape_of):
    """(t, f32, bf16) for each PyTorch row t, with our rows of the same shape_of(row) in each
    precision (f32 may be None); PyTorch rows that we have no bf16 row for are left out."""
    mine = {(shape_of(r), r["precision"]): r for r in ours}
    for t in torch:
        shape = shape_of(t)
        bf16 = mine.get((shape, "bf16"))
        if bf16 is not None:
            yield t, mine.get((shape, "f32")), bf16


def print_table(head, lines):
    print(head)
    print("-" * len(head))
    for line in lines:
        print(line)


def write_json(path, merged):
    if path:
        with open(path, "w") as f:
            json.dump(merged, f, indent=2)
