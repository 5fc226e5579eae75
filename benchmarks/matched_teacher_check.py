"""Is the matched teacher matched on problems it was not selected on?

    .venv/bin/python benchmarks/matched_teacher_check.py --seeds 0,1,2 [--problems 16] [--n 256]

The build keeps the stronger teacher's checkpoint whose luck-free pass@n at the
frontier is closest to the base's on 16 training-split problems
(`frontier.MATCHED_TEACHER_RULE`, nine candidates). With 16 problems a reach differs by 1/16
per problem, so the closest of several checkpoints is partly chosen by
sampling noise (the winner's curse). This script measures the base, the kept
matched teacher and the stronger teacher again, as the build measured the base
(n samples at once) but on *fresh* training-split problems (another draw, `--draw-seed`), and prints
the three reaches per seed side by side: the selection-free check of the match.
Evaluation-split problems are never used.
"""

from __future__ import annotations

import argparse

FRESH_DRAW_OFFSET = 7919  # the fresh problems: measure_reach's draw at seed + this offset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--preset", default="default")
    ap.add_argument("--problems", type=int, default=16)
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--draw-seed", type=int, default=FRESH_DRAW_OFFSET, help="offset of the fresh problem draw")
    args = ap.parse_args()

    from pathlib import Path

    from rlboundary.organism.build import load_organism
    from rlboundary.organism.frontier import measure_reach
    from rlboundary.organism.presets import get_preset

    p = get_preset(args.preset)
    print("seed frontier | selected on (build's problems): base, matched, stronger | fresh problems: base, matched, "
          "stronger (luck-free pass@n)")
    for seed in [int(s) for s in args.seeds.split(",")]:
        models = load_organism(p.name, seed)
        if models is None:
            raise SystemExit(f"no complete build of {p.name} seed {seed}: run `rlboundary organism build --seed {seed}`")
        m = models.manifest
        front = m["frontier"]["frontier"]
        teachers = {e["name"]: e["frontier_reach"]["luck_free_pass_at_n"] for e in m["models"] if e["role"] == "teacher"}
        fresh = {}
        for name in ("base", "teacher-matched", "teacher"):
            # measure_reach draws its problems from its seed argument: a new seed, new problems
            # (training split only); the sampling seed changes with it.
            fresh[name] = measure_reach(Path(models[name]), [front], args.problems, args.n, seed + args.draw_seed,
                                        p.width, p.max_completion_tokens())[front]["luck_free_pass_at_n"]
        base_sel = m["frontier"]["base_reach"][str(front)]["luck_free_pass_at_n"]
        print(f"{seed} {front} | {base_sel:.3f}, {teachers['teacher-matched']:.3f}, {teachers['teacher']:.3f} | "
              f"{fresh['base']:.3f}, {fresh['teacher-matched']:.3f}, {fresh['teacher']:.3f}", flush=True)


if __name__ == "__main__":
    main()
