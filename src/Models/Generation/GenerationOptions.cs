namespace Pipelines.Models.Generation;

/// <summary>How a causal language model continues a prompt. The defaults sample with temperature 1, top-k 0 and top-p 1 (no filtering).</summary>
public sealed record GenerationOptions
{
    /// <summary>Tokens to add after the prompt.</summary>
    public int MaxNewTokens { get; init; } = 100;
    /// <summary>Softmax temperature; 0 means greedy (always the most likely token).</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>Keep only the k most likely tokens before sampling; 0 keeps all.</summary>
    public int TopK { get; init; }
    /// <summary>Keep the smallest set of most likely tokens whose probability reaches p (nucleus sampling); 1 keeps all.</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>Seed of the sampler: the same seed, model and prompt give the same text.</summary>
    public int Seed { get; init; } = 1;
    /// <summary>Stop early when this token is produced (e.g. an end-of-text id); null never stops early.</summary>
    public int? StopTokenId { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> for out-of-range values.</summary>
    public GenerationOptions Validate()
    {
        if (MaxNewTokens < 0) throw new ArgumentException($"MaxNewTokens must not be negative, got {MaxNewTokens}.");
        if (Temperature < 0 || !double.IsFinite(Temperature)) throw new ArgumentException($"Temperature must be 0 (greedy) or positive, got {Temperature}.");
        if (TopK < 0) throw new ArgumentException($"TopK must not be negative, got {TopK}.");
        if (TopP is <= 0 or > 1) throw new ArgumentException($"TopP must be in (0, 1], got {TopP}.");
        return this;
    }
}
