namespace Pipelines;

/// <summary>Which weights fine-tuning may change.</summary>
public enum FineTuneStrategy
{
    /// <summary>Every weight (the usual BERT fine-tuning).</summary>
    Full,
    /// <summary>Everything but the embeddings.</summary>
    FreezeEmbeddings,
    /// <summary>Everything but the embeddings and the bottom <see cref="FineTuningOptions.FrozenLayers"/> blocks.</summary>
    FreezeBottomLayers,
    /// <summary>Only the task head, on frozen features (the cheapest, a linear probe).</summary>
    HeadOnly,
    /// <summary>Low-rank adapters on chosen layers plus the task head; the encoder stays frozen.</summary>
    LoRA,
    /// <summary>
    /// Bottleneck adapters in every block (<see cref="FineTuningOptions.AdapterSize"/> units, Houlsby's
    /// placement unless <see cref="FineTuningOptions.AdapterAfterAttention"/> is false): only the
    /// adapters, the LayerNorms and the task head train. The adapters stay in the saved model.
    /// </summary>
    Adapters,
}
