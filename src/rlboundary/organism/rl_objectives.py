"""RL objectives TRL does not compute: advantages set per sample from the group's rewards.

TRL's GRPOTrainer always subtracts the group's mean reward (then optionally
scales). Three objectives of the boundary atlas need other advantages; each
is a function of one group's 0/1 rewards (N samples of one prompt), and
`advantage_trainer` puts it into a GRPOTrainer subclass: TRL generates,
scores, clips and steps as usual, only the advantages are replaced.

| objective | advantage of a sample, group of N with c correct                  | source                          |
|-----------|-------------------------------------------------------------------|---------------------------------|
| psr       | 1 if correct, else 0: only right answers are reinforced           | Zhu et al. 2025 (arXiv 2506.01347), positive sample reinforcement |
| nsr       | -1 if wrong, else 0: only wrong answers are pushed down           | the same paper, negative sample reinforcement |
| passk<k>  | (r_i - R) / sd, with r_i the sample's expected pass@k reward over | Chen et al. 2025, "Pass@k Training for Adaptively Balancing Exploration and Exploitation" |
|           | the groups of k it may join: 1 if correct, 1 - C(N-c-1, k-1) /    |                                 |
|           | C(N-1, k-1) if wrong; R = 1 - C(N-c, k) / C(N, k) the group's     |                                 |
|           | pass@k, sd = sqrt(R (1 - R)); 0 when all N agree                  |                                 |

The pass@k advantage is derived here from its definition (every sample's
reward is the mean pass@k of the k-subsets that contain it) and checked
against brute-force enumeration of the subsets in the tests.

Objectives that TRL does compute are options in `rl._config` (grpo, dr_grpo,
dapo, REINFORCE++'s global normalisation, RLOO).

    from rlboundary.organism.rl_objectives import advantages, advantage_trainer
"""

from __future__ import annotations

import re
from math import comb

PASSK = re.compile(r"^passk(\d+)$")


def is_custom(objective: str) -> bool:
    return objective in ("psr", "nsr") or PASSK.match(objective) is not None


def passk_rewards(correct: int, n: int, k: int) -> tuple[float, float, float]:
    """(reward of a correct sample, reward of a wrong sample, the group's pass@k)
    for a group of n samples with `correct` right ones (module docstring)."""
    if not 1 <= k <= n:
        raise ValueError(f"pass@k training needs 1 <= k <= group size; got k={k}, n={n}")
    group = 1 - comb(n - correct, k) / comb(n, k)
    wrong = 1 - comb(n - correct - 1, k - 1) / comb(n - 1, k - 1) if correct < n else float("nan")
    return 1.0, wrong, group


def advantages(objective: str, rewards):
    """Advantages for a (groups x N) tensor of 0/1 rewards; same shape."""
    import torch

    r = (rewards > 0.5).to(torch.float32)
    if objective == "psr":
        return r.clone()
    if objective == "nsr":
        return r - 1.0
    m = PASSK.match(objective)
    if m is None:
        raise ValueError(f"unknown custom RL objective {objective!r}: use psr, nsr or passk<k> (e.g. passk4)")
    k, n = int(m.group(1)), r.shape[1]
    out = torch.zeros_like(r)
    for g in range(r.shape[0]):
        c = int(r[g].sum().item())
        pos, neg, group = passk_rewards(c, n, k)
        sd = (group * (1 - group)) ** 0.5
        if sd < 1e-12:  # every group of k agrees: no signal
            continue
        out[g] = torch.where(r[g] > 0, torch.tensor((pos - group) / sd), torch.tensor((neg - group) / sd))
    return out


def advantage_trainer(objective: str):
    """A GRPOTrainer subclass whose advantages are `advantages(objective, ...)`."""
    from trl import GRPOTrainer

    if not is_custom(objective):
        raise ValueError(f"{objective!r} is not a custom objective (TRL computes it)")

    class CustomAdvantageTrainer(GRPOTrainer):
        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
            # Keep the batch's rewards (every process's, as TRL gathers them) for the override below.
            self._batch_rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            return self._batch_rewards

        def _generate_and_score_completions(self, inputs):
            out = super()._generate_and_score_completions(inputs)
            rewards = self._batch_rewards.nansum(dim=1)
            adv = advantages(objective, rewards.view(-1, self.num_generations)).reshape(-1)
            local = out["advantages"].shape[0]
            start = self.accelerator.process_index * local
            out["advantages"] = adv[start:start + local].to(out["advantages"].device, out["advantages"].dtype)
            return out

    CustomAdvantageTrainer.__name__ = f"{objective}Trainer"
    return CustomAdvantageTrainer
