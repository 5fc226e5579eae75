"""Scratch: learning curves of organism configs on a GPU (deleted after use)."""
import json, os, sys, time, torch, random
sys.path.insert(0, "src")
from rlboundary.tinymodel import build_char_tokenizer, make_llama
from rlboundary.organism.pretrain import make_batch_fn, CLEAN_MIX
from rlboundary.organism.corpus import BASE_MIX
from rlboundary.organism.training import TrainConfig, ChatEncoder, collate, lr_at
from rlboundary.organism.splits import draw_problems
from rlboundary.organism.task import check_trace

def run(name, width, maxs, hidden, layers, mix, steps, lr, batch, evals, out):
    dev = os.environ.get("DEV", "cuda")
    torch.manual_seed(0)
    tok = build_char_tokenizer(); enc = ChatEncoder(tok)
    model = make_llama(tok, hidden_size=hidden, num_layers=layers, num_heads=hidden // 32).to(dev)
    nparam = sum(p.numel() for p in model.parameters())
    cfg = TrainConfig(steps=steps, batch_size=batch, lr=lr)
    bf = make_batch_fn(0, width, maxs, batch, steps, mix)
    probs = draw_problems(0, "eval", range(1, maxs + 1), int(os.environ.get("PER", 16)), width)
    sprobs = draw_problems(1, "eval", range(1, maxs + 1), 5, width)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.1)
    rows = []; ntok = 0; t0 = time.time(); losses = []
    def gen(ps, sample, nret):
        prompts = [enc.prompt(p.prompt()) for p in ps]
        L = max(map(len, prompts))
        ids = torch.tensor([[enc.pad] * (L - len(x)) + x for x in prompts]).to(dev)
        att = (ids != enc.pad).long()
        kw = dict(do_sample=True, temperature=0.6, top_p=0.95, top_k=0, num_return_sequences=nret) if sample else dict(do_sample=False)
        o = model.generate(input_ids=ids, attention_mask=att, max_new_tokens=(width * 4) * maxs + 12, eos_token_id=enc.eos, pad_token_id=enc.pad, **kw)
        return [tok.decode(x, skip_special_tokens=True) for x in o[:, L:]]
    for step in range(steps):
        for g in opt.param_groups: g["lr"] = lr_at(step, cfg)
        ids, att, lab = collate(enc, bf(step)); ntok += int(att.sum())
        model.train()
        loss = model(input_ids=ids.to(dev), attention_mask=att.to(dev), labels=lab.to(dev)).loss
        opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
        losses.append(loss.item())
        if step + 1 in evals:
            model.eval()
            with torch.no_grad():
                g = gen(probs, False, 1)
                greedy = {}
                for p, t in zip(probs, g): greedy.setdefault(p.n_steps, []).append(check_trace(p, t).correct)
                s = gen(sprobs, True, 32)
                samp = {}; valid = []
                for i, p in enumerate(sprobs):
                    cs = [check_trace(p, t) for t in s[i * 32:(i + 1) * 32]]
                    c = sum(x.correct for x in cs)
                    samp.setdefault(p.n_steps, []).append((c / 32, c > 0))
                    valid += [x.trace_valid for x in cs if x.correct]
            row = dict(name=name, step=step + 1, tokens=ntok, loss=sum(losses[-50:]) / len(losses[-50:]), params=nparam,
                       greedy={k: sum(v) / len(v) for k, v in greedy.items()},
                       pass1={k: round(sum(a for a, _ in v) / len(v), 3) for k, v in samp.items()},
                       pass32={k: sum(b for _, b in v) / len(v) for k, v in samp.items()},
                       valid_frac=round(sum(valid) / max(1, len(valid)), 3), example=s[-1], secs=round(time.time() - t0, 1))
            rows.append(row); print(json.dumps(row), flush=True)
            with open(out, "a") as f: f.write(json.dumps(row) + "\n")

if __name__ == "__main__":
    cfgs = {
        "W1_128x4": (1, 6, 128, 4, BASE_MIX, 3e-3),
        "W1_128x4_clean": (1, 6, 128, 4, CLEAN_MIX, 3e-3),
        "W1_64x2": (1, 6, 64, 2, BASE_MIX, 3e-3),
        "A_w3_128x4": (3, 6, 128, 4, BASE_MIX, 3e-3),
        "B_w2_128x4": (2, 6, 128, 4, BASE_MIX, 3e-3),
        "C_w3_256x4_clean": (3, 6, 256, 4, CLEAN_MIX, 2e-3),
        "D_w3_128x4_clean": (3, 6, 128, 4, CLEAN_MIX, 3e-3),
        "E_w3_64x2": (3, 6, 64, 2, BASE_MIX, 3e-3),
        "F_w3_128x4_lr1e-2": (3, 6, 128, 4, BASE_MIX, 6e-3),
        "G_w3_192x6": (3, 6, 192, 6, BASE_MIX, 2e-3),
        "H_w2_64x2": (2, 6, 64, 2, BASE_MIX, 3e-3),
    }
    name = sys.argv[1]; steps = int(sys.argv[2])
    w, m, h, l, mix, lr = cfgs[name]
    run(name, w, m, h, l, mix, steps, lr, 64, set(int(x) for x in os.environ.get("EVALS", "250,500,750,1000,1500,2000,3000").split(",")), os.path.join(os.environ.get("OUT", "/tmp"), name + ".jsonl"))
