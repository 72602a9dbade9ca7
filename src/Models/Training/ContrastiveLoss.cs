using static TorchSharp.torch;

namespace Pipelines.Models.Training;

/// <summary>
/// Unsupervised SimCSE (Gao et al., 2021): the same sentences encoded twice, dropout being the only
/// difference, are each other's positives; the other sentences of the batch are the negatives.
/// </summary>
public static class ContrastiveLoss
{
    /// <summary>SimCSE's default temperature.</summary>
    public const double DefaultTemperature = 0.05;

    /// <summary>
    /// Cross-entropy of the cosine similarities between <paramref name="first"/> (B, C) and
    /// <paramref name="second"/> (B, C), divided by <paramref name="temperature"/>, with row i's target
    /// at column i.
    /// </summary>
    public static Tensor SimCse(Tensor first, Tensor second, double temperature = DefaultTemperature)
    {
        if (temperature <= 0) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The temperature must be positive.");
        var a = nn.functional.normalize(first, p: 2, dim: -1);
        var b = nn.functional.normalize(second, p: 2, dim: -1);
        var similarities = a.matmul(b.T) / temperature;                                       // (B, B)
        var targets = arange(first.shape[0], dtype: ScalarType.Int64, device: first.device);
        return nn.functional.cross_entropy(similarities, targets);
    }

    /// <summary>
    /// The SimCSE loss of <paramref name="encoder"/> on a batch: two passes in training mode (two
    /// dropout masks), each mean-pooled over the real tokens.
    /// </summary>
    public static Tensor SimCse(BertModel encoder, Tensor ids, Tensor attentionMask, double temperature = DefaultTemperature)
    {
        var first = SequencePooling.MaskedMean(encoder.Forward(ids, attentionMask), attentionMask);
        var second = SequencePooling.MaskedMean(encoder.Forward(ids, attentionMask), attentionMask);
        return SimCse(first, second, temperature);
    }
}
