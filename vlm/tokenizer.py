"""A small byte-level BPE tokenizer trained on the shared report, note and QA text.

Radiology text has a narrow vocabulary, so a few thousand merges learned here cover it in fewer
tokens than a general-purpose vocabulary would, which keeps prompts (evidence included) short. It
is wrapped as a ``PreTrainedTokenizerFast`` and saved beside the model.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

PAD, BOS, EOS, UNK, SEP = "<pad>", "<s>", "</s>", "<unk>", "<sep>"
TASK_TOKENS: tuple[str, ...] = ("<report>", "<diagnose>", "<vqa>")
FIELD_TOKENS: tuple[str, ...] = ("<findings>", "<evidence>", "<similar>", "<question>", "<answer>")
SPECIAL_TOKENS: tuple[str, ...] = (PAD, BOS, EOS, UNK, SEP, *TASK_TOKENS, *FIELD_TOKENS)


def train_tokenizer(texts: Iterable[str], vocab_size: int = 3000, min_frequency: int = 2) -> PreTrainedTokenizerFast:
    """Byte-level BPE over ``texts`` (lower-cased), with MCRAG's special tokens."""
    tok = Tokenizer(models.BPE(unk_token=UNK))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                  special_tokens=list(SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator((t.lower() for t in texts), trainer=trainer)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=EOS, unk_token=UNK,
                                   pad_token=PAD, sep_token=SEP,
                                   additional_special_tokens=[*TASK_TOKENS, *FIELD_TOKENS])
    fast.model_max_length = 1024
    return fast


def special_id(tokenizer: PreTrainedTokenizerFast, token: str) -> int:
    tid = tokenizer.convert_tokens_to_ids(token)
    if not isinstance(tid, int) or tid == tokenizer.unk_token_id and token != UNK:
        raise KeyError(f"tokenizer has no special token {token!r}")
    return tid
