namespace Pipelines;

/// <summary>Shape defaults shared by the trainers that build a model from scratch.</summary>
internal static class ModelShape
{
    /// <summary>The width of one attention head in BERT and GPT-2 (768 / 12), kept at every model width.</summary>
    public const int HeadWidth = 64;

    /// <summary><paramref name="heads"/> when positive; else <paramref name="hidden"/> / 64 heads (at least 1, dividing the width).</summary>
    public static int Heads(int hidden, int heads)
    {
        if (heads > 0) return heads;
        var count = Math.Max(1, hidden / HeadWidth);
        while (hidden % count != 0) count--;
        return count;
    }
}
