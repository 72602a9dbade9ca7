namespace Pipelines.Models.Tests;

/// <summary>Tiny architectures (vocabulary ~100, hidden 32, 2 layers) that run in milliseconds.</summary>
internal static class TinyConfigs
{
    public static readonly TransformerConfig Encoder = new()
    {
        VocabSize = 101, Layers = 2, Hidden = 32, Heads = 4, FeedForward = 64, MaxPositions = 24,
        TypeVocabSize = 2, Dropout = 0, LayerNormEpsilon = 1e-12,
    };

    public static readonly TransformerConfig Decoder = new()
    {
        VocabSize = 97, Layers = 2, Hidden = 32, Heads = 4, FeedForward = 64, MaxPositions = 16,
        Dropout = 0, PreLayerNorm = true, LayerNormEpsilon = 1e-5,
    };
}
