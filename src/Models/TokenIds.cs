using static TorchSharp.torch;

namespace Pipelines.Models;

/// <summary>
/// The check at the door of every embedding table: a token id outside the vocabulary would
/// otherwise end in libtorch's index error (or, on CUDA, a device-side assert that poisons the
/// process). The usual cause is a token column made by another tokenizer than the model's.
/// </summary>
internal static class TokenIds
{
    /// <exception cref="ArgumentOutOfRangeException">An id of <paramref name="ids"/> is negative or not below <paramref name="vocabularySize"/>.</exception>
    public static void Check(Tensor ids, long vocabularySize)
    {
        if (ids.numel() == 0) return;
        using var scope = NewDisposeScope();
        var (min, max) = (ids.min().item<long>(), ids.max().item<long>());
        if (min < 0 || max >= vocabularySize)
            throw new ArgumentOutOfRangeException(nameof(ids),
                $"Token id {(min < 0 ? min : max)} is outside the model's vocabulary of {vocabularySize} ids: " +
                "the tokens were made by another tokenizer than the one the model was trained with.");
    }
}
