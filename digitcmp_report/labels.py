"""How the report names things: the study's spelling of the architectures (Table 2,
Figure 3) and small words. No computation, no dependencies."""

# The four sharing/aux variants as the study labels them (Table 2, Figure 3).
VARIANT_LABELS = {
    "nosharing_noaux": "NOsharing_NOaux",
    "sharing_noaux": "sharing_NOaux",
    "nosharing_aux": "NOsharing_aux",
    "sharing_aux": "sharing_aux",
}
FAMILY_LABELS = {"shallow": "Shallow", "mlp": "MLP", "conv1": "Conv1", "conv2": "Conv2"}


def label(arch: str) -> str:
    """'conv2_sharing_aux' → 'Conv2_sharing_aux', the study's spelling (extras unchanged)."""
    family, _, variant = arch.partition("_")
    if family in FAMILY_LABELS and variant in VARIANT_LABELS:
        return f"{FAMILY_LABELS[family]}_{VARIANT_LABELS[variant]}"
    return arch


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"

