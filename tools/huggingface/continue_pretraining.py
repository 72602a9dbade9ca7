"""Continue masked-LM pretraining of a model exported by this library, on many GPUs.

    torchrun --nproc_per_node=8 continue_pretraining.py EXPORTED_DIR corpus.txt OUT_DIR [MAX_STEPS]

EXPORTED_DIR is what MaskedLanguageModelTransformer.SaveAsHuggingFace wrote (config.json,
model.safetensors, vocab.txt + tokenizer_config.json or vocab.json + merges.txt). corpus.txt has one
document per line. Hugging Face's Trainer runs DistributedDataParallel when started by torchrun (one
process per GPU); OUT_DIR receives a model.safetensors directory that EncoderSource.FromHuggingFace
(and MaskedLanguageModelTransformer.FromHuggingFace) read back. Needs torch, transformers, datasets.
"""
import sys

from datasets import load_dataset
from transformers import (AutoModelForMaskedLM, AutoTokenizer, DataCollatorForLanguageModeling,
                          Trainer, TrainingArguments)


def main(model_dir, corpus, out_dir, max_steps=10_000):
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForMaskedLM.from_pretrained(model_dir)
    length = model.config.max_position_embeddings - (model.config.pad_token_id + 1 if model.config.model_type == "roberta" else 0)
    texts = load_dataset("text", data_files=corpus)["train"]
    tokens = texts.map(lambda batch: tokenizer(batch["text"], truncation=True, max_length=length),
                       batched=True, remove_columns=["text"])
    args = TrainingArguments(out_dir, max_steps=int(max_steps), per_device_train_batch_size=64, learning_rate=5e-4,
                             warmup_ratio=0.06, weight_decay=0.01, bf16=True, logging_steps=100, save_steps=2_000,
                             save_safetensors=True, ddp_find_unused_parameters=False, report_to=[])
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    trainer = Trainer(model=model, args=args, train_dataset=tokens, data_collator=collator)
    trainer.train()
    trainer.save_model(out_dir)                      # the main process writes model.safetensors and config.json
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(out_dir)


if __name__ == "__main__":
    main(*sys.argv[1:])
