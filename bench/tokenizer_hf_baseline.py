#!/usr/bin/env python3
"""HF tokenizers' single-thread encode speed on bench_tokenizer's texts, in
bench_tokenizer's units (MiB/s, as Google Benchmark's bytes_per_second), so
the two can be run on one machine and compared:

    build/bench/bench_tokenizer --benchmark_filter=BM_Encode
    python3 bench/tokenizer_hf_baseline.py

For each tokenizer (tests/data/tokenizers/NAME/tokenizer.json) and text
(bench/data/NAME.txt) it times Tokenizer.encode(text, add_special_tokens=False)
and encode_batch_fast([text]) (no offsets) and reports both; "tokens" lets
you check that both implementations produce the same number of tokens.
Needs the `tokenizers` package. Use --json for machine-readable output.
"""
import argparse
import json
import os
import sys
import time

# One thread: HF parallelizes only batches, but make sure of it.
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"

from tokenizers import Tokenizer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TOKENIZERS = ["qwen3", "llama3_1", "llama2"]
TEXTS = ["english", "code", "cjk"]


def measure(fn, text_bytes, min_time):
    fn()  # Warm up (and fill the word cache, as bench_tokenizer's warm-up does).
    iterations = 0
    start = time.perf_counter()
    elapsed = 0.0
    while elapsed < min_time:
        fn()
        iterations += 1
        elapsed = time.perf_counter() - start
    return iterations * text_bytes / elapsed / (1 << 20)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--min-time", type=float, default=1.0, help="seconds per measurement")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import tokenizers
    results = []
    for name in TOKENIZERS:
        tok = Tokenizer.from_file(os.path.join(ROOT, "tests", "data", "tokenizers", name, "tokenizer.json"))
        for text_name in TEXTS:
            with open(os.path.join(HERE, "data", text_name + ".txt"), encoding="utf-8") as f:
                text = f.read()
            size = len(text.encode("utf-8"))
            tokens = len(tok.encode(text, add_special_tokens=False).ids)
            encode = measure(lambda: tok.encode(text, add_special_tokens=False), size, args.min_time)
            fast = measure(lambda: tok.encode_batch_fast([text], add_special_tokens=False), size, args.min_time)
            results.append({"name": f"BM_Encode/{name}/{text_name}", "tokens": tokens,
                            "encode_mib_per_s": round(encode, 2), "encode_batch_fast_mib_per_s": round(fast, 2)})
    if args.json:
        json.dump({"tokenizers_version": tokenizers.__version__, "results": results}, sys.stdout, indent=1)
        print()
        return
    print(f"HF tokenizers {tokenizers.__version__}, one thread, MiB/s")
    print(f"{'benchmark':28} {'tokens':>8} {'encode':>10} {'batch_fast':>11}")
    for r in results:
        print(f"{r['name']:28} {r['tokens']:>8} {r['encode_mib_per_s']:>10.2f} {r['encode_batch_fast_mib_per_s']:>11.2f}")


if __name__ == "__main__":
    main()
