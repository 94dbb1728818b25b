#!/usr/bin/env python3
"""The e2e fixture's prompts (tests/data/e2e/qwen3-tiny/e2e_goldens.json)
through HF transformers with bf16 activations on the GPU, greedy, next to the
fp32 goldens: where the bf16 reference itself leaves the fp32 path, a bf16
engine may too. Prints, per case, the first step where bf16 differs (or
"same") and the fp32 top-1/top-2 margin there; with --tern-generate, the same
for `tern-generate --backend cuda`, and the largest difference of its top
logprob from the fp32 one over the steps before.

    python3 bench/hf_bf16_e2e.py [--device cuda] [--tern-generate PATH] [--json OUT]

Needs torch and transformers (the GPU machine has both).
"""
import argparse
import json
import os
import subprocess

import torch
from transformers import AutoModelForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "tests/data/e2e/qwen3-tiny")


def greedy(model, prompt, steps, device):
    ids = torch.tensor([prompt], device=device)
    out, margins, top_logprobs = [], [], []
    with torch.no_grad():
        for _ in range(steps):
            logits = model(ids).logits[0, -1].float()
            top = torch.topk(logits, 2)
            out.append(int(top.indices[0]))
            margins.append(float(top.values[0] - top.values[1]))
            top_logprobs.append(float(torch.log_softmax(logits, dim=0)[top.indices[0]]))
            ids = torch.cat([ids, top.indices[:1].view(1, 1)], dim=1)
    return out, margins, top_logprobs


def tern_generate(binary, goldens):
    lines = "".join(json.dumps({"id": str(i), "prompt_token_ids": c["prompt_ids"], "max_tokens": len(c["output_ids"]),
                                "temperature": 0, "ignore_eos": True, "logprobs": 1}) + "\n"
                    for i, c in enumerate(goldens["cases"]))
    run = subprocess.run([binary, "--model", MODEL, "--backend", "cuda"], input=lines, capture_output=True,
                         text=True, check=True)
    return [json.loads(line) for line in run.stdout.splitlines() if line]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tern-generate", help="also run this tern-generate with --backend cuda")
    parser.add_argument("--json", help="write per-case results here")
    args = parser.parse_args()
    goldens = json.load(open(os.path.join(MODEL, "e2e_goldens.json")))
    models = {dtype: AutoModelForCausalLM.from_pretrained(MODEL, dtype=dtype).to(args.device).eval()
              for dtype in (torch.float32, torch.bfloat16)}
    tern = tern_generate(args.tern_generate, goldens) if args.tern_generate else None
    results = []
    for i, case in enumerate(goldens["cases"]):
        steps = len(case["output_ids"])
        fp32, fp32_margins, fp32_logprobs = greedy(models[torch.float32], case["prompt_ids"], steps, args.device)
        bf16, _, bf16_logprobs = greedy(models[torch.bfloat16], case["prompt_ids"], steps, args.device)
        first = next((s for s in range(steps) if bf16[s] != case["output_ids"][s]), None)
        bf16_error = max((abs(bf16_logprobs[s] - fp32_logprobs[s]) for s in range(steps if first is None else first)),
                         default=0.0)
        results.append({"case": i, "fp32_matches_golden": fp32 == case["output_ids"], "bf16_ids": bf16,
                        "bf16_first_difference": first,
                        "fp32_margin_there": None if first is None else fp32_margins[first],
                        "bf16_max_logprob_error": bf16_error})
        where = "same" if first is None else f"step {first} (fp32 margin {fp32_margins[first]:.4f})"
        line = (f"case {i:2d}: fp32 {'=' if fp32 == case['output_ids'] else '!='} golden; HF bf16 differs at {where}, "
                f"top logprob error before {bf16_error:.4f}")
        if tern is not None:
            ids = tern[i]["token_ids"]
            t_first = next((s for s in range(steps) if ids[s] != case["output_ids"][s]), None)
            results[-1]["tern_cuda_ids"] = ids
            results[-1]["tern_cuda_first_difference"] = t_first
            t_where = "same" if t_first is None else f"step {t_first} (fp32 margin {fp32_margins[t_first]:.4f})"
            agreed = steps if t_first is None else t_first
            error = max((abs(tern[i]["logprobs"][s][0][1] - fp32_logprobs[s]) for s in range(agreed)), default=0.0)
            results[-1]["tern_cuda_max_logprob_error"] = error
            line += f"; tern cuda differs at {t_where}, top logprob error before {error:.4f}"
        print(line)
    if args.json:
        json.dump({"device": args.device, "torch": torch.__version__, "cases": results}, open(args.json, "w"))


if __name__ == "__main__":
    main()
