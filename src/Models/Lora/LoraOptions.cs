namespace Pipelines.Models.Lora;

/// <summary>Which linear layers get LoRA adapters, and their shape. Defaults follow the LoRA paper's BERT/GPT setups.</summary>
public sealed record LoraOptions
{
    /// <summary>Rank r of each adapter (A is r x in, B is out x r).</summary>
    public int Rank { get; init; } = 8;
    /// <summary>Scale numerator: the adapter's output is multiplied by Alpha / Rank.</summary>
    public double Alpha { get; init; } = 16;
    /// <summary>Dropout on the adapter's input.</summary>
    public double Dropout { get; init; } = 0.05;
    /// <summary>
    /// Names of the linear layers to adapt, matched against the last segment of each layer's
    /// parameter path ("query" matches bert.encoder.layer.3.attention.self.query). Default: query
    /// and value (the encoder) and c_attn (the decoder's fused q/k/v).
    /// </summary>
    public IReadOnlyList<string> Targets { get; init; } = ["query", "value", "c_attn"];
}
