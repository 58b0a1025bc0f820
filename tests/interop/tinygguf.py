"""Write a tiny randomly initialised Llama model as GGUF, for llama.cpp protocol tests (no download).

2 layers, 64-dim embeddings, a 313-token SentencePiece-style vocabulary (5 control tokens, 256 byte
tokens, a few words and letters), ChatML chat template, all F32: about 0.5 MB. Its text is
gibberish; what the tests look at is the server's protocol. Needs the ``gguf`` and ``numpy``
packages (PyPI)::

    python tests/interop/tinygguf.py tiny.gguf
"""

from __future__ import annotations

import sys

__all__ = ["write_tiny_gguf"]

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def write_tiny_gguf(path: str, seed: int = 1234) -> None:
    import gguf
    import numpy as np

    rng = np.random.default_rng(seed)
    n_embd, n_head, n_ff, n_layer, ctx = 64, 4, 128, 2, 2048
    tokens = [b"<unk>", b"<s>", b"</s>", b"<|im_start|>", b"<|im_end|>"]
    types = [gguf.TokenType.UNKNOWN] + [gguf.TokenType.CONTROL] * 4
    tokens += [f"<0x{i:02X}>".encode() for i in range(256)]  # byte fallback: any text tokenizes
    types += [gguf.TokenType.BYTE] * 256
    words = ["\u2581" + w for w in "the a of and to in is it you that he was for on are with as I his they be at "
                                   "one have this".split()]
    words += list("abcdefghijklmnopqrstuvwxyz") + ["\u2581"]
    tokens += [w.encode() for w in words]
    types += [gguf.TokenType.NORMAL] * len(words)
    scores = [0.0] * 261 + [-float(i) for i in range(len(words))]

    w = gguf.GGUFWriter(path, "llama")
    w.add_name("llm-magics tiny test model")
    w.add_context_length(ctx)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(n_embd // n_head)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(4)  # <|im_end|>
    w.add_add_bos_token(False)
    w.add_chat_template(CHATML)

    def rand(*shape: int) -> object:
        return (rng.standard_normal(shape) * 0.5).astype(np.float32)

    def ones(n: int) -> object:
        return np.ones(n, dtype=np.float32)

    n_vocab = len(tokens)
    w.add_tensor("token_embd.weight", rand(n_vocab, n_embd))
    w.add_tensor("output_norm.weight", ones(n_embd))
    w.add_tensor("output.weight", rand(n_vocab, n_embd))
    for i in range(n_layer):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", ones(n_embd))
        for t in ("attn_q", "attn_k", "attn_v", "attn_output"):
            w.add_tensor(p + t + ".weight", rand(n_embd, n_embd))
        w.add_tensor(p + "ffn_norm.weight", ones(n_embd))
        w.add_tensor(p + "ffn_gate.weight", rand(n_ff, n_embd))
        w.add_tensor(p + "ffn_up.weight", rand(n_ff, n_embd))
        w.add_tensor(p + "ffn_down.weight", rand(n_embd, n_ff))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    write_tiny_gguf(sys.argv[1])
