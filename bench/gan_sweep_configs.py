"""The runs of bench/gan_sweep.py as data: each configuration's F, L, quantization mode and recipe knobs, the order
the main budget trains them in, which are never shipped, and the quantization ablation's pairs."""

from __future__ import annotations

from typing import NamedTuple

MAIN_ORDER = ["gan_f8_l4_noquant", "gan_f16_l4", "gan_f4_l4", "gan_f2_l8", "gan_f8_l2", "gan_f8_l8", "gan_f8_l4_eq",
              "gan_f2_l8_noquant", "gan_f4_l4_noquant", "gan_f8_l2_noquant", "gan_f16_l4_noquant",
              "gan_f8_l4_ramp", "gan_f8_l4_noquant_ramp", "gan_f8_l4_noquant_ramp_s1", "gan_f16_l4_noquant_ramp",
              "gan_f16_l4_ramp"]


class Config(NamedTuple):
    """One run of the sweep: the shipped-name's F, L and --quant-mode, a label, and the two knobs that only the F8 L4
    ablation runs change: --gan-ramp (steps over which the GAN terms' weight rises to 1; 0 = at once) and --seed."""
    F: int
    L: int
    quant: str
    label: str
    ramp: int = 0
    seed: int = 0


# name -> Config; in the order they are trained
CONFIGS = {
    "gan_f8_l4_eq": Config(8, 4, "ste", "F8 L4 (equal-budget twin of the shipped long run)"),
    "gan_f8_l4_noquant": Config(8, 4, "none", "F8 L4, no quantization in training"),
    "gan_f8_l8": Config(8, 8, "ste", "F8 L8"),
    "gan_f16_l4": Config(16, 4, "ste", "F16 L4"),
    "gan_f4_l4": Config(4, 4, "ste", "F4 L4"),
    "gan_f8_l2": Config(8, 2, "ste", "F8 L2"),
    "gan_f2_l8": Config(2, 8, "ste", "F2 L8"),
    # the ablation at the seed paper's other F/L pairs: trained and evaluated, never shipped (the 60 MiB cap)
    "gan_f2_l8_noquant": Config(2, 8, "none", "F2 L8, no quantization in training"),
    "gan_f4_l4_noquant": Config(4, 4, "none", "F4 L4, no quantization in training"),
    "gan_f8_l2_noquant": Config(8, 2, "none", "F8 L2, no quantization in training"),
    "gan_f16_l4_noquant": Config(16, 4, "none", "F16 L4, no quantization in training"),
    # the F8 L4 pair with the GAN terms ramped in (the plain F8 L4 pair both collapsed; results/gan/TRAINING.md),
    # and a second seed of its no-quant half
    "gan_f8_l4_ramp": Config(8, 4, "ste", "F8 L4, --gan-ramp 1000", ramp=1000),
    "gan_f8_l4_noquant_ramp": Config(8, 4, "none", "F8 L4, no quantization in training, --gan-ramp 1000",
                                     ramp=1000),
    "gan_f8_l4_noquant_ramp_s1": Config(8, 4, "none", "F8 L4, no quantization in training, --gan-ramp 1000, "
                                        "seed 1", ramp=1000, seed=1),
    # F16 L4 without quantization collapsed at the GAN onset as gan_f8_l4_eq did: the same run with the ramp
    "gan_f16_l4_noquant_ramp": Config(16, 4, "none", "F16 L4, no quantization in training, --gan-ramp 1000",
                                      ramp=1000),
    "gan_f16_l4_ramp": Config(16, 4, "ste", "F16 L4, --gan-ramp 1000", ramp=1000),
}
# the quantization ablation: (quantized, not quantized in training), the same recipe within each pair
ABLATION_PAIRS = [("gan_f8_l4_ramp", "gan_f8_l4_noquant_ramp"), ("gan_f8_l4_ramp", "gan_f8_l4_noquant_ramp_s1"),
                  ("gan_f2_l8", "gan_f2_l8_noquant"), ("gan_f4_l4", "gan_f4_l4_noquant"),
                  ("gan_f8_l2", "gan_f8_l2_noquant"), ("gan_f16_l4", "gan_f16_l4_noquant"),
                  ("gan_f16_l4_ramp", "gan_f16_l4_noquant_ramp")]
UNSHIPPED = {"gan_f2_l8_noquant", "gan_f4_l4_noquant", "gan_f8_l2_noquant", "gan_f16_l4_noquant", "gan_f8_l4_ramp",
             "gan_f8_l4_noquant_ramp", "gan_f8_l4_noquant_ramp_s1", "gan_f16_l4_noquant_ramp", "gan_f16_l4_ramp"}
