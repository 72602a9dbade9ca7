using Pipelines.Models.Generation;

namespace Pipelines;

/// <summary>
/// Options of generation fine-tuning: a causal language model learns to answer prompts with
/// responses (loss on the response's tokens only). Defaults follow fine-tuning, not pretraining:
/// batch 16, learning rate 3e-4, 10 % warmup, linear decay to 0, 500 steps.
/// </summary>
public sealed class TextGeneratorOptions : TrainingOptions
{
    /// <summary>Creates options with the generation fine-tuning defaults.</summary>
    public TextGeneratorOptions()
    {
        (MaxSteps, BatchSize, LearningRate, WarmupSteps, Schedule, FinalLearningRateRatio) = (500, 16, 3e-4, -1, DecayShape.Linear, 0);
    }

    /// <summary>The prompt column (String).</summary>
    public string PromptColumnName { get; set; } = "Prompt";
    /// <summary>The response column (String) learnt from; an empty response marks a row not to train on.</summary>
    public string ResponseColumnName { get; set; } = "Response";
    /// <summary>The output column (String) the transformer writes each prompt's generated response to.</summary>
    public string GeneratedColumnName { get; set; } = "GeneratedText";
    /// <summary>The pretrained causal language model to start from (its tokenizer and architecture); null trains from scratch with <see cref="Tokenizer"/>.</summary>
    public CausalLanguageModelTransformer? Base { get; set; }
    /// <summary>The tokenizer when training from scratch; with a <see cref="Base"/> it must be null or the base's.</summary>
    public TextTokenizer? Tokenizer { get; set; }
    /// <summary>Longest prompt + response in tokens, separators included (a base model's context caps it); longer prompts lose their end.</summary>
    public int BlockSize { get; set; } = 128;
    /// <summary>Decoder blocks when training from scratch.</summary>
    public int Layers { get; set; } = 4;
    /// <summary>Width when training from scratch.</summary>
    public int Hidden { get; set; } = 128;
    /// <summary>Attention heads when training from scratch; 0: Hidden / 64.</summary>
    public int Heads { get; set; }
    /// <summary>Dropout while fine-tuning.</summary>
    public double Dropout { get; set; } = 0.1;
    /// <summary>
    /// How the transformer generates: greedy and at most 32 new tokens unless set; generation always
    /// stops at the separator that closes a response in training.
    /// </summary>
    public GenerationOptions Generation { get; set; } = new() { Temperature = 0, MaxNewTokens = 32 };

    internal override void Validate()
    {
        base.Validate();
        OptionChecks.Require(BlockSize >= 4, nameof(BlockSize), BlockSize, "must hold a prompt token, a response token and two separators, at least 4");
        OptionChecks.Require(Dropout is >= 0 and < 1, nameof(Dropout), Dropout, "must be in [0, 1)");
        if (Base is null) OptionChecks.Architecture(Layers, Hidden, Heads);
        if (Base is null && Tokenizer is null)
            throw new ArgumentException("Set Base (a pretrained causal language model) or Tokenizer (to train from scratch).", nameof(Tokenizer));
        if (Base is not null && Tokenizer is not null && Base.Tokenizer.Fingerprint != Tokenizer.Fingerprint)
            throw new ArgumentException("Tokenizer is not the base model's tokenizer, whose ids the model learnt: leave Tokenizer null to use the base model's.", nameof(Tokenizer));
        (Generation ?? throw new ArgumentNullException(nameof(Generation))).Validate();
    }
}
